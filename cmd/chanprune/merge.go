package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/chanprune/chanprune/internal/atomicfile"
	"github.com/chanprune/chanprune/internal/clip"
)

// partExpect is what a part should hold, for messages.
const partExpect = "a part that report --shard I/N writes"

// runMerge puts the parts of a sharded report together and prints the
// report an unsharded run prints, through the same renderers.
func runMerge(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	flags := declareReportFlags(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("want the PART files that report --shard I/N wrote, got none")
	}
	var outs atomicfile.Set
	defer outs.Abort()
	sink, err := flags.open(&outs)
	if err != nil {
		return err
	}
	parts := make([]reportPart, len(files))
	for i, f := range files {
		if err := outs.Input("part", f); err != nil {
			return err
		}
		if parts[i], err = readPart(f); err != nil {
			return err
		}
	}
	results, err := mergeParts(files, parts)
	if err != nil {
		return err
	}
	return sink.deliver(&outs, stdout, results, lastKernel(results))
}

// readPart reads the part at path and checks that it is one.
func readPart(path string) (reportPart, error) {
	var p reportPart
	if err := readJSONFile("part", path, partExpect, &p, true); err != nil {
		return p, err
	}
	if err := p.check(); err != nil {
		return p, fmt.Errorf("part %s: not %s: %s", clip.Value(path), partExpect, err)
	}
	return p, nil
}

// check checks a decoded part's fields against each other.
func (p reportPart) check() error {
	s, err := partShard(p)
	if err != nil {
		return err
	}
	if _, err := hex.DecodeString(p.ManifestSHA256); err != nil || len(p.ManifestSHA256) != 64 {
		return fmt.Errorf("manifest_sha256 %q: want 64 hex digits", clip.Value(p.ManifestSHA256))
	}
	if len(p.ManifestLayers) == 0 {
		return fmt.Errorf("manifest_layers: none")
	}
	if len(p.LayerIndices) != len(p.Layers) {
		return fmt.Errorf("%d layer_indices for %d layers", len(p.LayerIndices), len(p.Layers))
	}
	for j, i := range p.LayerIndices {
		if i < 0 || i >= len(p.ManifestLayers) || i%s.Count != s.Index || p.Layers[j].Name != p.ManifestLayers[i] {
			return fmt.Errorf("layer_indices[%d] = %d: not the index of layer %q in shard %s of %d layers", j, i, clip.Value(p.Layers[j].Name), s, len(p.ManifestLayers))
		}
	}
	return nil
}

// partShard parses a part's shard.
func partShard(p reportPart) (shard, error) {
	s, ok := parseShard(p.Shard)
	if !ok {
		return s, fmt.Errorf("shard %q: want I/N with 0 ≤ I < N", clip.Value(p.Shard))
	}
	return s, nil
}

// mergeParts gives the layers of parts (read from files) in manifest
// order, refusing parts of different manifests, a layer in two parts and
// layers in none.
func mergeParts(files []string, parts []reportPart) ([]layerResult, error) {
	first := parts[0]
	n := len(first.ManifestLayers)
	owner := make([]int, n) // the part that has each layer, +1; 0 for none
	results := make([]layerResult, n)
	for pi, p := range parts {
		if p.ManifestSHA256 != first.ManifestSHA256 || !slices.Equal(p.ManifestLayers, first.ManifestLayers) {
			return nil, fmt.Errorf("parts %s and %s come from different manifests (SHA-256 %.12s… and %.12s…)",
				clip.Value(files[0]), clip.Value(files[pi]), first.ManifestSHA256, p.ManifestSHA256)
		}
		if p.Options != first.Options {
			return nil, fmt.Errorf("parts %s and %s were evaluated with different options (%s and %s): run every shard with the same flags",
				clip.Value(files[0]), clip.Value(files[pi]), optionsText(first.Options), optionsText(p.Options))
		}
		for j, i := range p.LayerIndices {
			if owner[i] != 0 {
				return nil, fmt.Errorf("layer %q (manifest index %d) is in two parts: %s and %s",
					clip.Value(first.ManifestLayers[i]), i, clip.Value(files[owner[i]-1]), clip.Value(files[pi]))
			}
			owner[i], results[i] = pi+1, p.Layers[j]
		}
	}
	if err := missingLayers(first.ManifestLayers, owner, parts); err != nil {
		return nil, err
	}
	return results, nil
}

// optionsText is a part's options for messages, which a part made
// before parts recorded them lacks.
func optionsText(o string) string {
	if o == "" {
		return "none recorded"
	}
	return clip.Value(o)
}

// missingLayers names the layers no part has, and the shards not given
// where every part is of the same N.
func missingLayers(names []string, owner []int, parts []reportPart) error {
	var missing []string
	for i, o := range owner {
		if o == 0 {
			missing = append(missing, strconv.Quote(clip.Value(names[i])))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s of %d missing from the parts: %s", plural(len(missing), "layer"), len(names), strings.Join(missing, ", "))
	if count, ok := commonCount(parts); ok {
		lacking := make([]bool, count)
		for i, o := range owner {
			lacking[i%count] = lacking[i%count] || o == 0
		}
		var not []string
		for s, l := range lacking {
			if l {
				not = append(not, shard{s, count}.String())
			}
		}
		msg += " (no part of shard " + strings.Join(not, ", ") + ")"
	}
	return errors.New(msg)
}

// commonCount gives the N of the parts' shards where they all share one.
func commonCount(parts []reportPart) (int, bool) {
	var counts []int
	for _, p := range parts {
		s, _ := partShard(p) // checked by readPart
		counts = append(counts, s.Count)
	}
	slices.Sort(counts)
	return counts[0], counts[0] == counts[len(counts)-1]
}

// lastKernel is the kernel of the last layer's points, which an unsharded
// report names in its text (the kernel of its last Evaluator).
func lastKernel(results []layerResult) string {
	for _, r := range slices.Backward(results) {
		if len(r.Points) > 0 {
			return r.Points[0].Kernel
		}
	}
	return ""
}
