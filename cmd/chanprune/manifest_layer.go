package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/clip"
	"github.com/chanprune/chanprune/tensorfile"
)

// A layer of a manifest is read in three steps: decodeLayer takes the
// mapping apart into its known fields, validate turns them into a
// manifestLayer, and checkFiles opens every tensor it names.
func parseLayer(n *yaml.Node, i int, dir string) (manifestLayer, error) {
	doc, err := decodeLayer(n, i)
	if err != nil {
		return manifestLayer{}, err
	}
	l, err := doc.validate(dir)
	if err != nil {
		return manifestLayer{}, err
	}
	if err := l.checkFiles(doc.label); err != nil {
		return manifestLayer{}, err
	}
	return l, nil
}

var layerFields = []string{"name", "weight", "bias", "scores", "batches", "ratios", "method", "stacked", "layout", "group_size", "group_reduce"}

// layerDoc is a layer's mapping as written: its name, and the node of
// every other field, nil where the field is absent or null.
type layerDoc struct {
	label                                                          string // names the layer in messages
	name                                                           string
	weight, bias, scores, batches, ratios, method, stacked, layout *yaml.Node
	groupSize, groupReduce                                         *yaml.Node
}

// decodeLayer splits the i-th layer's mapping into its fields, refusing
// unknown ones and those given twice, and reads its name.
func decodeLayer(n *yaml.Node, i int) (layerDoc, error) {
	label := fmt.Sprintf("layer %d", i+1)
	if n = deref(n); n.Kind == yaml.MappingNode { // name the layer in every message
		for j := 0; j+1 < len(n.Content); j += 2 {
			if name, err := str(n.Content[j+1]); n.Content[j].Value == "name" && err == nil {
				label = fmt.Sprintf("layer %q", clip.Value(name))
			}
		}
	}
	f, err := fields(n, label, layerFields...)
	if err != nil {
		return layerDoc{}, err
	}
	if f["name"] == nil {
		return layerDoc{}, fmt.Errorf("%s: name is required", label)
	}
	name, err := str(f["name"])
	if err != nil {
		return layerDoc{}, fmt.Errorf("%s: name: %w", label, err)
	}
	if name == "" {
		return layerDoc{}, fmt.Errorf("layer %d: name: want a non-empty name", i+1)
	}
	return layerDoc{
		label:  fmt.Sprintf("layer %q", clip.Value(name)),
		name:   name,
		weight: f["weight"], bias: f["bias"], scores: f["scores"], batches: f["batches"],
		ratios: f["ratios"], method: f["method"], stacked: f["stacked"], layout: f["layout"],
		groupSize: f["group_size"], groupReduce: f["group_reduce"],
	}, nil
}

// validate reads the fields' values, resolving file references against
// dir, and applies the defaults of method and stacked.
func (d layerDoc) validate(dir string) (manifestLayer, error) {
	fail := func(field string, err error) (manifestLayer, error) {
		return manifestLayer{}, fmt.Errorf("%s: %s: %w", d.label, field, err)
	}
	for _, req := range []struct {
		field string
		n     *yaml.Node
	}{{"weight", d.weight}, {"scores", d.scores}, {"batches", d.batches}, {"ratios", d.ratios}} {
		if req.n == nil {
			return manifestLayer{}, fmt.Errorf("%s: %s is required", d.label, req.field)
		}
	}
	l := manifestLayer{Name: d.name, Method: "auto"}
	var err error
	if l.Groups, err = manifestGroups(d.groupSize, d.groupReduce); err != nil {
		return manifestLayer{}, fmt.Errorf("%s: %w", d.label, err)
	}
	if l.Weight, err = ref(d.weight, dir); err != nil {
		return fail("weight", err)
	}
	if d.bias != nil {
		if l.Bias, err = ref(d.bias, dir); err != nil {
			return fail("bias", err)
		}
	}
	if l.Scores, err = scoreRefs(d.scores, dir); err != nil {
		return fail("scores", err)
	}
	if l.Batches, err = batchRefs(d.batches, dir); err != nil {
		return manifestLayer{}, fmt.Errorf("%s: %w", d.label, err)
	}
	if l.Ratios, err = ratioList(d.ratios); err != nil {
		return manifestLayer{}, fmt.Errorf("%s: %w", d.label, err)
	}
	if d.method != nil {
		if l.Method, err = str(d.method); err != nil {
			return fail("method", err)
		}
		if _, err := chanprune.ParseMethod(l.Method); err != nil {
			return fail("method", fmt.Errorf("%q: want auto, direct or gram", clip.Value(l.Method)))
		}
	}
	if b := d.stacked; b != nil {
		if b.Kind != yaml.ScalarNode || b.Tag != "!!bool" {
			return fail("stacked", fmt.Errorf("%s: want true or false", describe(b)))
		}
		l.Stacked = b.Value == "true"
	}
	// The layout says how score reads the batches; report's metrics treat
	// every token alike, so it is only checked here.
	if d.layout != nil {
		layout, err := str(d.layout)
		if err != nil {
			return fail("layout", err)
		}
		if !slices.Contains(chanprune.Layouts(), layout) {
			return fail("layout", fmt.Errorf("%q: want %s", clip.Value(layout), strings.Join(chanprune.Layouts(), " or ")))
		}
	}
	return l, nil
}

// batchRefs reads a non-empty list of file references; its errors name
// the field.
func batchRefs(n *yaml.Node, dir string) ([]string, error) {
	if n = deref(n); n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, errors.New("batches: want a non-empty list of file references")
	}
	var refs []string
	for j, b := range n.Content {
		r, err := ref(b, dir)
		if err != nil {
			return nil, fmt.Errorf("batches[%d]: %w", j, err)
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// ratioList reads a non-empty list of distinct numbers in [0, 1]; its
// errors name the field.
func ratioList(n *yaml.Node) ([]float64, error) {
	if n = deref(n); n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, errors.New("ratios: want a non-empty list of numbers in [0, 1]")
	}
	var ratios []float64
	for j, r := range n.Content {
		r = deref(r)
		if r.Kind != yaml.ScalarNode || (r.Tag != "!!float" && r.Tag != "!!int") {
			return nil, fmt.Errorf("ratios[%d]: %s: want a number in [0, 1]", j, describe(r))
		}
		v, err := parseRatio(r.Value)
		if err != nil {
			return nil, fmt.Errorf("ratios[%d]: %w", j, err)
		}
		if slices.Contains(ratios, v) {
			return nil, fmt.Errorf("ratios: %g given twice", v)
		}
		ratios = append(ratios, v)
	}
	return ratios, nil
}

// checkFiles makes sure every tensor is there before the first layer is
// evaluated: each file exists and holds the key named and a tensor
// format, and the batches open together; it counts the batches.
func (l *manifestLayer) checkFiles(label string) error {
	if err := checkTensor(label, "weight", l.Weight); err != nil {
		return err
	}
	if l.Bias != "" {
		if err := checkTensor(label, "bias", l.Bias); err != nil {
			return err
		}
	}
	for _, s := range l.Scores {
		if err := checkTensor(label, "scores "+s.Name, s.Ref); err != nil {
			return err
		}
	}
	for j, b := range l.Batches {
		if _, err := os.Stat(tensorfile.ParseRef(b).Path); err != nil {
			return checkTensor(label, fmt.Sprintf("batches[%d]", j), b)
		}
	}
	b, err := tensorfile.OpenBatches(l.Batches, l.Stacked)
	if err != nil {
		return fmt.Errorf("%s: batches: %w", label, err)
	}
	l.count = b.Len()
	return b.Close()
}

// checkTensor checks that the reference r, given as field, names one
// tensor of an existing file.
func checkTensor(label, field, r string) error {
	if _, err := os.Stat(tensorfile.ParseRef(r).Path); err != nil {
		return argError(label+": "+field, r, err)
	}
	b, err := tensorfile.OpenBatches([]string{r}, false)
	if err != nil {
		return fmt.Errorf("%s: %s %w", label, field, err)
	}
	if n := b.Len(); n != 1 { // a container's tensors, not one
		return fmt.Errorf("%s: %s %s: the file holds %d tensors: name one with FILE#KEY", label, field, clip.Value(r), n)
	}
	return b.Close()
}

// scoreRefs reads a map of name → reference, or a list of one-entry maps,
// keeping the order written.
func scoreRefs(n *yaml.Node, dir string) ([]scoreRef, error) {
	n = deref(n)
	var pairs []*yaml.Node
	switch n.Kind {
	case yaml.MappingNode:
		pairs = n.Content
	case yaml.SequenceNode:
		for j, item := range n.Content {
			item = deref(item)
			if item.Kind != yaml.MappingNode || len(item.Content) != 2 {
				return nil, fmt.Errorf("[%d]: want one NAME: FILE entry", j)
			}
			pairs = append(pairs, item.Content...)
		}
	default:
		return nil, errors.New("want a map of NAME: FILE, or a list of such one-entry maps")
	}
	if len(pairs) == 0 {
		return nil, errors.New("no score sets given")
	}
	var refs []scoreRef
	for j := 0; j < len(pairs); j += 2 {
		name, err := str(pairs[j])
		if err != nil || name == "" {
			return nil, fmt.Errorf("%s: want a non-empty name", describe(pairs[j]))
		}
		for _, have := range refs {
			if have.Name == name {
				return nil, fmt.Errorf("score set %q given twice", clip.Value(name))
			}
		}
		r, err := ref(pairs[j+1], dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", clip.Value(name), err)
		}
		refs = append(refs, scoreRef{name, r})
	}
	return refs, nil
}
