package chanprune

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/chanprune/chanprune/tensorfile"
)

// ErrLayerFile reports a file that LoadLayer cannot read as a pruned
// layer: not a tensor file, a tensor or the in_features metadata missing,
// or one of the wrong shape, dtype or values. Errors from reading the file
// wrap tensorfile's sentinels too.
var ErrLayerFile = errors.New("not a pruned-layer file")

// The keys of a pruned-layer file (as prune --out writes it).
const (
	// LayerInFeatures is the metadata key of the width of the full input
	// rows, a decimal integer.
	LayerInFeatures = "in_features"
	layerWeight     = "weight"
	layerBias       = "bias"
	layerKeep       = "keep"
)

// LoadLayer builds its full-width weight for Compact once: files whose
// in_features makes that more than maxWiden times the stored weight, and
// over minWiden elements, are refused as implausible (a prune ratio above
// 255/256 on a large layer) rather than trusted with the memory.
const (
	maxWiden = 256
	minWiden = 1 << 20
)

// LoadLayer reads a pruned layer from the .safetensors file at path, as
// chanprune prune --out writes it: weight [out, kept] (float32, bfloat16
// or float16), an optional bias [out], keep (int64 [kept], the kept input
// channels, strictly ascending) and the metadata in_features, the width of
// the full input rows. It returns a Layer whose Forward takes full rows.
// A bfloat16 or float16 weight is stored in its own format
// (WithWeightFormat); opts are Compact's and come after that, so they can
// change it. Errors wrap ErrLayerFile and name the file and the tensor.
func LoadLayer(path string, opts ...Option) (*Layer, error) {
	f, err := tensorfile.Open(path)
	if err != nil {
		return nil, layerFileError(path, err)
	}
	defer f.Close()
	l, keep, format, err := readLayerFile(f)
	if err != nil {
		return nil, layerFileError(path, err)
	}
	layer, err := Compact(l, keep, append([]Option{WithWeightFormat(format)}, opts...)...)
	if err != nil {
		return nil, layerFileError(path, err)
	}
	return layer, nil
}

// layerFileError names path and adds ErrLayerFile to err.
func layerFileError(path string, err error) error {
	return fmt.Errorf("load layer %s: %w (%w)", path, err, ErrLayerFile)
}

// readLayerFile reads the tensors of a pruned-layer file and widens the
// weight to the full rows, zero in the pruned columns.
func readLayerFile(f *tensorfile.File) (Linear, []int, WeightFormat, error) {
	in, err := strconv.Atoi(f.Metadata()[LayerInFeatures])
	if err != nil || in <= 0 {
		return Linear{}, nil, 0, fmt.Errorf("metadata %s = %q: want the width of the full input rows, a positive integer",
			LayerInFeatures, f.Metadata()[LayerInFeatures])
	}
	w, err := f.Read(layerWeight)
	if err != nil {
		return Linear{}, nil, 0, fmt.Errorf("%s: %w", layerWeight, err)
	}
	format, ok := map[tensorfile.Dtype]WeightFormat{
		tensorfile.Float32: Float32, tensorfile.BFloat16: BFloat16, tensorfile.Float16: Float16}[w.Dtype]
	if !ok {
		return Linear{}, nil, 0, fmt.Errorf("%s is %v: want float32, bfloat16 or float16", layerWeight, w.Dtype)
	}
	if len(w.Shape) != 2 || w.Shape[0] == 0 {
		return Linear{}, nil, 0, fmt.Errorf("%s has shape %v: want [out, kept] with out > 0", layerWeight, w.Shape)
	}
	out, kept := w.Shape[0], w.Shape[1]
	keep, err := readKeep(f, kept, in)
	if err != nil {
		return Linear{}, nil, 0, err
	}
	if in > max(maxWiden*kept, minWiden/out) {
		return Linear{}, nil, 0, fmt.Errorf("metadata %s = %d: more than %d times the %d kept channels", LayerInFeatures, in, maxWiden, kept)
	}
	l := Linear{In: in, Out: out, Weight: make([]float32, out*in)}
	for o := range out {
		for i, c := range keep {
			l.Weight[o*in+c] = w.Data[o*kept+i]
		}
	}
	if !slices.Contains(f.Keys(), layerBias) {
		return l, keep, format, nil
	}
	b, err := f.Read(layerBias)
	if err != nil {
		return Linear{}, nil, 0, fmt.Errorf("%s: %w", layerBias, err)
	}
	if len(b.Shape) != 1 || b.Shape[0] != out {
		return Linear{}, nil, 0, fmt.Errorf("%s has shape %v: want [%d] for a weight of shape %v", layerBias, b.Shape, out, w.Shape)
	}
	l.Bias = b.Data
	return l, keep, format, nil
}

// readKeep reads the kept channels: kept of them, strictly ascending, in
// [0, in).
func readKeep(f *tensorfile.File, kept, in int) ([]int, error) {
	shape, k, err := f.ReadInt64(layerKeep)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", layerKeep, err)
	}
	if len(shape) != 1 || shape[0] != kept {
		return nil, fmt.Errorf("%s has shape %v: want [%d], one per column of %s", layerKeep, shape, kept, layerWeight)
	}
	keep := make([]int, kept)
	for i, c := range k {
		if c < 0 || c >= int64(in) || i > 0 && c <= k[i-1] {
			return nil, fmt.Errorf("%s[%d] = %d: want strictly ascending channels in [0, %s = %d)", layerKeep, i, c, LayerInFeatures, in)
		}
		keep[i] = int(c)
	}
	return keep, nil
}
