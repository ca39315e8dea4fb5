package chanprune

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/chanprune/chanprune/internal/clip"
	"github.com/chanprune/chanprune/tensorfile"
)

// ErrLayerFile reports a file that LoadLayer cannot read as a pruned
// layer: not a tensor file, a tensor or the in_features metadata missing,
// one of the wrong shape, dtype or values, or a tensor besides weight,
// bias and keep. Errors from reading the file wrap tensorfile's sentinels
// too.
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

// A file that keeps no channel and has no bias holds no value of its out
// outputs (a layer of zeros): out is accepted up to maxUnbackedOut then,
// since the Layer's bias takes memory in it.
const maxUnbackedOut = 1 << 20

// LoadLayer reads a pruned layer from the .safetensors file at path, as
// chanprune prune --out writes it: weight [out, kept] (float32, bfloat16
// or float16), an optional bias [out], keep (int64 [kept], the kept input
// channels, strictly ascending) and the metadata in_features, the width of
// the full input rows, and no other tensor. It returns a Layer whose
// Forward takes full rows. A bfloat16 or float16 weight is stored in its
// own format (WithWeightFormat); opts are Compact's and come after that,
// so they can change it. Errors wrap ErrLayerFile and name the file and
// the tensor.
func LoadLayer(path string, opts ...Option) (*Layer, error) {
	f, err := tensorfile.Open(path)
	if err != nil {
		return nil, layerFileError(path, err)
	}
	defer f.Close()
	c, err := readLayerFile(f)
	if err != nil {
		return nil, layerFileError(path, err)
	}
	layer, err := compactColumns(c.in, c.out, c.keep, c.weight, c.bias, append([]Option{WithWeightFormat(c.format)}, opts...))
	if err != nil {
		return nil, layerFileError(path, err)
	}
	return layer, nil
}

// layerFileError names path and adds ErrLayerFile to err.
func layerFileError(path string, err error) error {
	return fmt.Errorf("load layer %s: %w (%w)", path, err, ErrLayerFile)
}

// layerColumns are the tensors of a pruned-layer file, as compactColumns
// takes them.
type layerColumns struct {
	in, out      int
	keep         []int
	weight, bias []float32
	format       WeightFormat
}

// readLayerFile reads the tensors of a pruned-layer file.
func readLayerFile(f *tensorfile.File) (layerColumns, error) {
	in, err := strconv.Atoi(f.Metadata()[LayerInFeatures])
	if err != nil || in <= 0 || in > math.MaxInt32 {
		return layerColumns{}, fmt.Errorf("metadata %s = %q: want the width of the full input rows, a positive integer of at most 2³¹-1",
			LayerInFeatures, clip.Value(f.Metadata()[LayerInFeatures]))
	}
	for _, key := range f.Keys() {
		if key != layerWeight && key != layerBias && key != layerKeep {
			// A bias under another name would be left out silently.
			return layerColumns{}, fmt.Errorf("tensor %q: want only %s, %s and %s", clip.Value(key), layerWeight, layerBias, layerKeep)
		}
	}
	w, err := f.Read(layerWeight)
	if err != nil {
		return layerColumns{}, fmt.Errorf("%s: %w", layerWeight, err)
	}
	format, ok := map[tensorfile.Dtype]WeightFormat{
		tensorfile.Float32: Float32, tensorfile.BFloat16: BFloat16, tensorfile.Float16: Float16}[w.Dtype]
	if !ok {
		return layerColumns{}, fmt.Errorf("%s is %v: want float32, bfloat16 or float16", layerWeight, w.Dtype)
	}
	if len(w.Shape) != 2 || w.Shape[0] == 0 {
		return layerColumns{}, fmt.Errorf("%s has shape %v: want [out, kept] with out > 0", layerWeight, w.Shape)
	}
	c := layerColumns{in: in, out: w.Shape[0], weight: w.Data, format: format}
	if c.keep, err = readKeep(f, w.Shape[1], in); err != nil {
		return layerColumns{}, err
	}
	if !slices.Contains(f.Keys(), layerBias) {
		if len(c.keep) == 0 && c.out > maxUnbackedOut {
			return layerColumns{}, fmt.Errorf("%s has shape %v and the file no %s: more than %d outputs of no value", layerWeight, w.Shape, layerBias, maxUnbackedOut)
		}
		return c, nil
	}
	b, err := f.Read(layerBias)
	if err != nil {
		return layerColumns{}, fmt.Errorf("%s: %w", layerBias, err)
	}
	if len(b.Shape) != 1 || b.Shape[0] != c.out {
		return layerColumns{}, fmt.Errorf("%s has shape %v: want [%d] for a weight of shape %v", layerBias, b.Shape, c.out, w.Shape)
	}
	c.bias = b.Data
	return c, nil
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
