package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chanprune/chanprune/internal/clip"
	"github.com/chanprune/chanprune/internal/osfile"
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
//	    layout: batch-first         # optional: seq-first (the default) or batch-first, checked only
//	    group_size: 128             # optional: as --group-size (1, the default: single channels), which it overrides
//	    group_reduce: mean          # optional: as --group-reduce
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
	Groups  groupArgs
	count   int // the batches that Batches name
}

type scoreRef struct{ Name, Ref string }

// readManifest reads and checks a manifest (.json, .yaml or .yml), and
// checks that every file it names exists, so that a mistake in the last
// layer shows before the first is evaluated. sum is the SHA-256 of the
// file's bytes (manifestSum), which ties a sharded run's parts together.
func readManifest(path string) (layers []manifestLayer, sum string, err error) {
	raw, err := readManifestFile(path)
	if err != nil {
		return nil, "", err
	}
	var root *yaml.Node
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		root, err = jsonNode(raw)
	case ".yaml", ".yml":
		root, err = yamlNode(raw)
	default:
		return nil, "", fmt.Errorf("manifest %s: want a .json, .yaml or .yml file", clip.Value(path))
	}
	if err == nil {
		if layers, err = parseManifest(root, filepath.Dir(path)); err == nil {
			return layers, manifestSum(raw), nil
		}
	}
	return nil, "", fmt.Errorf("manifest %s: %w", clip.Value(path), err)
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
