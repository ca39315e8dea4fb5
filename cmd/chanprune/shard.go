package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/atomicfile"
	"github.com/chanprune/chanprune/internal/clip"
)

// A shard is the share of a manifest's layers that one task of a job
// array evaluates: the layers whose index (from 0, in manifest order) is
// ≡ Index (mod Count). The zero shard is no sharding.
type shard struct{ Index, Count int }

func (s shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

func (s shard) set() bool { return s.Count > 0 }

// shardFlag declares --shard; its value is parsed by shardOf.
func shardFlag(fs *flag.FlagSet) *string {
	return fs.String("shard", "", "evaluate shard `I/N`: the layers whose manifest index (from 0) ≡ I (mod N), written as a JSON part for merge")
}

// shardOf parses --shard's value, I/N with 0 ≤ I < N ("" is no sharding),
// and refuses with it the flags that render a whole report: a part is
// JSON for merge, which takes them instead.
func shardOf(fs *flag.FlagSet, v string) (shard, error) {
	if v == "" {
		return shard{}, nil
	}
	s, ok := parseShard(v)
	if !ok {
		return s, fmt.Errorf("--shard %q: want I/N with 0 ≤ I < N, e.g. 0/4 (a job array's index from 0, and its size)", clip.Value(v))
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err == nil && (f.Name == "plot" || f.Name == "title" || f.Name == "format" && f.Value.String() != "json") {
			err = fmt.Errorf("--shard writes a JSON part for merge: give --%s to merge instead", f.Name)
		}
	})
	return s, err
}

// parseShard parses I/N with 0 ≤ I < N.
func parseShard(v string) (shard, bool) {
	i, n, ok := strings.Cut(v, "/")
	index, err1 := strconv.Atoi(strings.TrimSpace(i))
	count, err2 := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err1 != nil || err2 != nil || count < 1 || index < 0 || index >= count {
		return shard{}, false
	}
	return shard{index, count}, true
}

// indices gives the manifest indices of the shard's layers among n; all
// of them when s is not set.
func (s shard) indices(n int) []int {
	out := []int{} // a part of no layers lists none, not null
	for i := range n {
		if !s.set() || i%s.Count == s.Index {
			out = append(out, i)
		}
	}
	return out
}

// A reportPart is what `report --shard` writes and merge reads: the
// shard's layers, their indices in the manifest, and what ties the parts
// of one run together, the SHA-256 of the manifest file's bytes and the
// names of all its layers (so that merge names the layers missing).
type reportPart struct {
	Shard          string        `json:"shard"`
	ManifestSHA256 string        `json:"manifest_sha256"`
	ManifestLayers []string      `json:"manifest_layers"`
	Options        string        `json:"options,omitempty"` // reportOptions; none in parts made before it
	LayerIndices   []int         `json:"layer_indices"`
	Layers         []layerResult `json:"layers"`
}

// reportOptions names the flags besides the manifest that shape a
// report's numbers, as merge compares them across parts: --compensate,
// --damp where lstsq uses it, --group-size, and --group-reduce where
// groups are wider than one channel.
func reportOptions(modes []chanprune.Compensation, damp float64, g *groupArgs) string {
	names := make([]string, len(modes))
	for i, m := range modes {
		names[i] = m.String()
	}
	o := "--compensate " + strings.Join(names, ",")
	if slices.Contains(modes, chanprune.CompensateLstsq) {
		o += " --damp " + strconv.FormatFloat(damp, 'g', -1, 64)
	}
	o += " --group-size " + strconv.Itoa(g.size)
	if g.size > 1 {
		o += " --group-reduce " + g.reduce
	}
	return o
}

func manifestSum(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

func layerNames(manifest []manifestLayer) []string {
	names := make([]string, len(manifest))
	for i, l := range manifest {
		names[i] = l.Name
	}
	return names
}

// deliverPart writes part as JSON to the sink's --out or stdout.
func deliverPart(outs *atomicfile.Set, sink reportSink, stdout io.Writer, part reportPart) error {
	return deliver(outs, sink.emit(stdout, func(w io.Writer) error { return writeIndented(w, part) }), nil, nil)
}
