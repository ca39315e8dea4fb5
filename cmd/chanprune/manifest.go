package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/clip"
	"github.com/chanprune/chanprune/internal/osfile"
	"github.com/chanprune/chanprune/internal/tensorfile"
)

// A manifest lists the layers a report evaluates:
//
//	layers:
//	  - name: layers.0.mlp.down_proj
//	    weight: l0/W.npy
//	    bias: l0/b.npy              # optional
//	    scores:                     # name → reference, in this order
//	      l2norm: l0/l2.npy
//	      random: l0/random.npy
//	    batches: [l0/acts_0.npy, l0/acts_1.npy]
//	    ratios: [0.1, 0.2, 0.5]
//	    method: auto                # optional: auto, direct or gram
//	    stacked: false              # optional: as --stacked
//
// or the same in JSON. scores may also be a list of one-entry maps
// (- l2norm: l0/l2.npy). Every file is a tensor reference FILE[#KEY], as
// on the command line; relative ones resolve against the manifest's
// directory.
type manifestLayer struct {
	Name    string
	Weight  string
	Bias    string // "" for none
	Scores  []scoreRef
	Batches []string
	Ratios  []float64
	Method  string
	Stacked bool
	count   int // the batches that Batches name
}

type scoreRef struct{ Name, Ref string }

var layerFields = []string{"name", "weight", "bias", "scores", "batches", "ratios", "method", "stacked"}

// readManifest reads and checks a manifest (.json, .yaml or .yml), and
// checks that every file it names exists, so that a mistake in the last
// layer shows before the first is evaluated.
func readManifest(path string) ([]manifestLayer, error) {
	raw, err := readManifestFile(path)
	if err != nil {
		return nil, err
	}
	var root *yaml.Node
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		root, err = jsonNode(raw)
	case ".yaml", ".yml":
		root, err = yamlNode(raw)
	default:
		return nil, fmt.Errorf("manifest %s: want a .json, .yaml or .yml file", clip.Value(path))
	}
	if err == nil {
		var layers []manifestLayer
		if layers, err = parseManifest(root, filepath.Dir(path)); err == nil {
			return layers, nil
		}
	}
	return nil, fmt.Errorf("manifest %s: %w", clip.Value(path), err)
}

// Bounds on a manifest, which lists files and names: far above any real
// one (4 MiB is thousands of layers), and low enough that parsing a
// hostile one stays shallow and within a few hundred MB (a node of the
// parsed tree costs ~60 times the bytes of "[],").
const (
	maxManifestBytes = 4 << 20
	maxManifestDepth = 64 // levels of nested lists and maps
)

// readManifestFile reads the manifest at path, a regular file of at most
// maxManifestBytes.
func readManifestFile(path string) ([]byte, error) {
	f, size, err := osfile.OpenRegular(path)
	if err != nil {
		return nil, argError("manifest", path, err)
	}
	defer f.Close()
	if size > maxManifestBytes {
		return nil, fmt.Errorf("manifest %s: %d bytes, more than the %d MiB a manifest may have", clip.Value(path), size, maxManifestBytes>>20)
	}
	// The file may grow after the Stat: read no more than the cap allows.
	raw, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err == nil && len(raw) > maxManifestBytes {
		err = fmt.Errorf("more than the %d MiB a manifest may have", maxManifestBytes>>20)
	}
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", clip.Value(path), err)
	}
	return raw, nil
}

func parseManifest(root *yaml.Node, dir string) ([]manifestLayer, error) {
	top, err := fields(root, "top level", "layers")
	if err != nil {
		return nil, err
	}
	list := deref(top["layers"])
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		return nil, fmt.Errorf("layers: want a non-empty list of layers")
	}
	var layers []manifestLayer
	seen := map[string]int{}
	for i, n := range list.Content {
		l, err := parseLayer(n, i, dir)
		if err != nil {
			return nil, err
		}
		if j, ok := seen[l.Name]; ok {
			return nil, fmt.Errorf("layer %q: name also given to layer %d", clip.Value(l.Name), j+1)
		}
		seen[l.Name] = i
		layers = append(layers, l)
	}
	return layers, nil
}

func parseLayer(n *yaml.Node, i int, dir string) (manifestLayer, error) {
	var l manifestLayer
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
		return l, err
	}
	if f["name"] == nil {
		return l, fmt.Errorf("%s: name is required", label)
	}
	if l.Name, err = str(f["name"]); err != nil {
		return l, fmt.Errorf("%s: name: %w", label, err)
	}
	label = fmt.Sprintf("layer %q", clip.Value(l.Name))
	fail := func(field string, err error) (manifestLayer, error) {
		return l, fmt.Errorf("%s: %s: %w", label, field, err)
	}
	for _, name := range []string{"weight", "scores", "batches", "ratios"} {
		if f[name] == nil {
			return l, fmt.Errorf("%s: %s is required", label, name)
		}
	}

	if l.Weight, err = ref(f["weight"], dir); err != nil {
		return fail("weight", err)
	}
	if f["bias"] != nil {
		if l.Bias, err = ref(f["bias"], dir); err != nil {
			return fail("bias", err)
		}
	}
	if l.Scores, err = scoreRefs(f["scores"], dir); err != nil {
		return fail("scores", err)
	}
	bn := deref(f["batches"])
	if bn.Kind != yaml.SequenceNode || len(bn.Content) == 0 {
		return fail("batches", errors.New("want a non-empty list of file references"))
	}
	for j, b := range bn.Content {
		r, err := ref(b, dir)
		if err != nil {
			return fail(fmt.Sprintf("batches[%d]", j), err)
		}
		l.Batches = append(l.Batches, r)
	}
	rn := deref(f["ratios"])
	if rn.Kind != yaml.SequenceNode || len(rn.Content) == 0 {
		return fail("ratios", errors.New("want a non-empty list of numbers in [0, 1]"))
	}
	for j, r := range rn.Content {
		r = deref(r)
		if r.Kind != yaml.ScalarNode || (r.Tag != "!!float" && r.Tag != "!!int") {
			return fail(fmt.Sprintf("ratios[%d]", j), fmt.Errorf("%s: want a number in [0, 1]", describe(r)))
		}
		v, err := parseRatio(r.Value)
		if err != nil {
			return fail(fmt.Sprintf("ratios[%d]", j), err)
		}
		for _, have := range l.Ratios {
			if have == v {
				return fail("ratios", fmt.Errorf("%g given twice", v))
			}
		}
		l.Ratios = append(l.Ratios, v)
	}
	l.Method = "auto"
	if f["method"] != nil {
		if l.Method, err = str(f["method"]); err != nil {
			return fail("method", err)
		}
		if _, err := chanprune.ParseMethod(l.Method); err != nil {
			return fail("method", fmt.Errorf("%q: want auto, direct or gram", clip.Value(l.Method)))
		}
	}

	if f["stacked"] != nil {
		if b := f["stacked"]; b.Kind != yaml.ScalarNode || b.Tag != "!!bool" {
			return fail("stacked", fmt.Errorf("%s: want true or false", describe(b)))
		}
		l.Stacked = f["stacked"].Value == "true"
	}

	// Every tensor must be there before the first layer is evaluated:
	// each file exists, holds the key named and a tensor format.
	check := func(field, r string) error {
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
	if err := check("weight", l.Weight); err != nil {
		return l, err
	}
	if l.Bias != "" {
		if err := check("bias", l.Bias); err != nil {
			return l, err
		}
	}
	for _, s := range l.Scores {
		if err := check("scores "+s.Name, s.Ref); err != nil {
			return l, err
		}
	}
	for j, b := range l.Batches {
		if _, err := os.Stat(tensorfile.ParseRef(b).Path); err != nil {
			return l, check(fmt.Sprintf("batches[%d]", j), b)
		}
	}
	b, err := tensorfile.OpenBatches(l.Batches, l.Stacked)
	if err != nil {
		return fail("batches", err)
	}
	l.count = b.Len()
	return l, b.Close()
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

// fields returns a mapping's values by key, refusing keys not in known
// and keys given twice.
func fields(n *yaml.Node, where string, known ...string) (map[string]*yaml.Node, error) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: want a map with the fields %s", where, strings.Join(known, ", "))
	}
	f := map[string]*yaml.Node{}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if !contains(known, k) {
			return nil, fmt.Errorf("%s: unknown field %q (want %s)", where, clip.Value(k), strings.Join(known, ", "))
		}
		if f[k] != nil {
			return nil, fmt.Errorf("%s: field %q given twice", where, clip.Value(k))
		}
		if v := deref(n.Content[i+1]); v.Tag != "!!null" {
			f[k] = v
		}
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// deref follows YAML aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func str(n *yaml.Node) (string, error) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", fmt.Errorf("%s: want a string", describe(n))
	}
	return n.Value, nil
}

// describe names a value in messages.
func describe(n *yaml.Node) string {
	switch n = deref(n); n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.Tag == "!!str" {
		return fmt.Sprintf("%q", clip.Value(n.Value))
	}
	return clip.Value(n.Value)
}

// ref reads a file reference and resolves it against dir; the part after
// a '#' (a key inside a container) is kept as written.
func ref(n *yaml.Node, dir string) (string, error) {
	r, err := str(n)
	if err != nil {
		return "", err
	}
	if r == "" {
		return "", errors.New("empty file reference")
	}
	if filepath.IsAbs(r) || dir == "." || dir == "" {
		return r, nil
	}
	return strings.TrimSuffix(dir, string(filepath.Separator)) + string(filepath.Separator) + r, nil
}

func yamlNode(raw []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("empty")
	}
	return doc.Content[0], nil
}

// jsonNode parses JSON into the tree YAML gives, keeping the order of
// object keys, so that one walk checks both formats.
func jsonNode(raw []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := jsonValue(dec, 1)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the top-level value")
	}
	return n, nil
}

// jsonValue reads the value that starts at the decoder's next token, at
// nesting level depth; it refuses depths past maxManifestDepth before
// descending, so a hostile file cannot exhaust the stack.
func jsonValue(dec *json.Decoder, depth int) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	scalar := func(tag, v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v} }
	switch t := tok.(type) {
	case json.Delim:
		if depth > maxManifestDepth {
			return nil, fmt.Errorf("offset %d: lists and maps nested more than %d levels deep", dec.InputOffset(), maxManifestDepth)
		}
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
		}
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, scalar("!!str", k.(string)))
			}
			v, err := jsonValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return scalar("!!str", t), nil
	case json.Number:
		if strings.ContainsAny(string(t), ".eE") {
			return scalar("!!float", string(t)), nil
		}
		return scalar("!!int", string(t)), nil
	case bool:
		return scalar("!!bool", fmt.Sprint(t)), nil
	}
	return scalar("!!null", "null"), nil
}
