package main

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"slices"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/clip"
	"github.com/chanprune/chanprune/internal/osfile"
	"github.com/chanprune/chanprune/tensorfile"
)

// loadLayer reads the weight [out, in] and the optional bias [out], each a
// tensor reference FILE[#KEY].
func loadLayer(weightPath, biasPath string) (chanprune.Linear, error) {
	w, b, err := loadLayerArrays(weightPath, biasPath)
	if err != nil {
		return chanprune.Linear{}, err
	}
	return linearOf(w, b), nil
}

// linearOf is the layer of weight w and bias b (nil for none).
func linearOf(w, b *tensorfile.Array) chanprune.Linear {
	layer := chanprune.Linear{Weight: w.Data, Out: w.Shape[0], In: w.Shape[1]}
	if b != nil {
		layer.Bias = b.Data
	}
	return layer
}

// loadLayerArrays is loadLayer keeping the arrays, which say the dtypes
// the files store; b is nil without a bias.
func loadLayerArrays(weightPath, biasPath string) (w, b *tensorfile.Array, err error) {
	if weightPath == "" {
		return nil, nil, fmt.Errorf("--weight is required")
	}
	w, err = readMatrix("--weight", weightPath, "[out, in] with out, in > 0")
	if err != nil || biasPath == "" {
		return w, nil, err
	}
	b, err = readVector("--bias", biasPath, w)
	return w, b, err
}

// readMatrix reads the 2-D tensor with dimensions over 0 that ref names,
// given as flag; want describes it for messages.
func readMatrix(flag, ref, want string) (*tensorfile.Array, error) {
	w, err := tensorfile.Read(tensorfile.ParseRef(ref))
	if err != nil {
		return nil, argError(flag, ref, err)
	}
	if len(w.Shape) != 2 || w.Shape[0] == 0 || w.Shape[1] == 0 {
		return nil, fmt.Errorf("%s %s: shape %v is not %s", flag, clip.Value(ref), w.Shape, want)
	}
	return w, nil
}

// readVector reads the bias, one value per row of the weight w, that ref
// names, given as flag.
func readVector(flag, ref string, w *tensorfile.Array) (*tensorfile.Array, error) {
	b, err := tensorfile.Read(tensorfile.ParseRef(ref))
	if err != nil {
		return nil, argError(flag, ref, err)
	}
	if len(b.Shape) != 1 || b.Shape[0] != w.Shape[0] {
		return nil, fmt.Errorf("%s %s: shape %v, want [%d] for a weight of shape %v", flag, clip.Value(ref), b.Shape, w.Shape[0], w.Shape)
	}
	return b, nil
}

// argError prefixes err with the argument what (a flag, "batch") and its
// value ref, which names the file: the name an os error repeats is
// dropped.
func argError(what, ref string, err error) error {
	return fmt.Errorf("%s %s: %w", what, clip.Value(ref), osfile.Unnamed(err))
}

// loadScores reads one score per input channel from the tensor reference
// ref; arg is the --scores argument that named it, for messages.
// With groups, one per group of in/groups channels is accepted too
// (groupArgs.loadScores).
func loadScores(arg, ref string, in int, groups ...int) ([]float32, error) {
	if ref == "" {
		return nil, fmt.Errorf("--scores is required")
	}
	s, err := tensorfile.Read(tensorfile.ParseRef(ref))
	if err != nil {
		return nil, argError("--scores", arg, err)
	}
	if len(s.Shape) == 1 && (s.Shape[0] == in || slices.Contains(groups, s.Shape[0])) {
		return s.Data, nil
	}
	if len(groups) == 1 {
		return nil, fmt.Errorf("--scores %s: shape %v, want [%d] (one score per input channel) or [%d] (one per group of %d channels)",
			clip.Value(arg), s.Shape, in, groups[0], in/groups[0])
	}
	return nil, fmt.Errorf("--scores %s: shape %v, want [%d], one score per input channel", clip.Value(arg), s.Shape, in)
}

// openBatches plans the batches the BATCH arguments name (tensor
// references; containers and, with stacked, arrays of batches) without
// reading their data.
func openBatches(args []string, stacked bool) (*tensorfile.Batches, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no activation batches given (BATCH arguments)")
	}
	b, err := tensorfile.OpenBatches(args, stacked)
	if err != nil {
		return nil, fmt.Errorf("batch %w", err)
	}
	return b, nil
}

// readBatches reads the batches one at a time into one reused buffer, so
// memory holds one batch whatever their number, and hands each to use;
// errors name the batch.
func readBatches(b *tensorfile.Batches, use func(x *tensorfile.Array) error) error {
	defer b.Close()
	var buf []float32
	for i := range b.Len() {
		x, err := b.Read(i, buf)
		if err == nil {
			err = use(x)
		}
		if err != nil {
			var be *chanprune.BatchError
			if errors.As(err, &be) {
				err = be.Err
			}
			return argError("batch", b.Name(i), err)
		}
		buf = x.Data
	}
	return nil
}

// groupRows and groupBytes bound the groups observeBatches hands its
// stream: groupRows rows a worker, two of the runs that a worker of the
// direct path runs a weight panel over at once (BenchmarkStream: the last
// runs of a call are shorter), and groupBytes in all.
const (
	groupRows  = 1024
	groupBytes = 64 << 20
)

// observeBatches feeds the batches, each [..., in] with at least one row,
// to the stream in groups of consecutive batches (ObserveBatches) of up to
// groupRows rows a worker and groupBytes (a larger batch alone), each batch
// in a buffer of its own reused from group to group (trimBuffers), so
// that memory holds the largest batch and about three groups whatever
// their number; it adds one to p per batch, and errors name the batch.
func observeBatches(s *chanprune.Stream, b *tensorfile.Batches, in int, p progress) error {
	defer b.Close()
	observe := func(group [][]float32) error {
		if err := s.ObserveBatches(group); err != nil {
			var be *chanprune.BatchError
			if errors.As(err, &be) { // the stream counts the batches from the first
				return argError("batch", b.Name(be.Batch), be.Err)
			}
			return err
		}
		p.Add(len(group))
		return nil
	}
	var bufs, group [][]float32
	rows, most := 0, max(1, min(groupRows*runtime.GOMAXPROCS(0), groupBytes/(4*in)))
	for i := range b.Len() {
		k := len(group)
		if k == len(bufs) {
			bufs = append(bufs, nil)
		}
		x, err := b.Read(i, bufs[k])
		if err == nil {
			err = checkRows(x, in)
		}
		if err != nil {
			return argError("batch", b.Name(i), err)
		}
		bufs[k] = x.Data
		n := len(x.Data) / in
		if k > 0 && rows+n > most { // the group so far, then a new one from this batch
			if err := observe(group); err != nil {
				return err
			}
			bufs[0], bufs[k] = bufs[k], bufs[0]
			group, rows = group[:0], 0
			bufs = trimBuffers(bufs, 2*most*in)
		}
		group = append(group, x.Data)
		rows += n
	}
	if len(group) == 0 { // no batch: Result says so
		return nil
	}
	return observe(group)
}

// trimBuffers keeps observeBatches' buffers after the first (a group's
// first batch, which may be larger than a group) while they hold at most
// limit floats in all: each keeps the capacity of the largest batch read
// into it, so batches of changing sizes would otherwise leave every slot
// as large as the largest batch it ever took.
func trimBuffers(bufs [][]float32, limit int) [][]float32 {
	total := 0
	for i := 1; i < len(bufs); i++ {
		if total += cap(bufs[i]); total > limit {
			clear(bufs[i:])
			return bufs[:i]
		}
	}
	return bufs
}

// checkRows checks that a batch is [..., in] with at least one row.
func checkRows(x *tensorfile.Array, in int) error {
	if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != in {
		return fmt.Errorf("shape %v does not end in the layer's %d input channels", x.Shape, in)
	}
	if len(x.Data) == 0 {
		return fmt.Errorf("shape %v has no rows", x.Shape)
	}
	return nil
}

// batchNames names every batch, for the per-batch results.
func batchNames(b *tensorfile.Batches) []string {
	names := make([]string, b.Len())
	for i := range names {
		names[i] = b.Name(i)
	}
	return names
}

// stackedFlag registers --stacked on fs.
func stackedFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("stacked", false, "each BATCH is one array [n, ...] whose leading axis enumerates n batches")
}

// methodFlag registers --method on fs.
func methodFlag(fs *flag.FlagSet) *string {
	return fs.String("method", "auto", "`method`: auto, direct (one product per evaluation) or gram (G = xᵀx per batch, shared by all evaluations)")
}
