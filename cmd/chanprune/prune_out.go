package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/tensorfile"
)

// prunedFile is what prune --out writes: the pruned layer (under "down."
// when it has feeders), the kept rows of its feeders, and keep, with the
// metadata chanprune.LoadLayer needs.
type prunedFile struct {
	keep    []int            // the kept channels, ascending
	weight  []float32        // [out, len(keep)]: the kept columns, or their repair
	in, out int              // the original layer's shape
	dtype   tensorfile.Dtype // the weight's, as read
	bias    []float32        // nil for none: the layer's, or one compensation repaired
	biasDt  tensorfile.Dtype // the bias's, as read
	feeders []feeder
}

// tensors lists the file's tensors.
func (p prunedFile) tensors() []tensorfile.Tensor {
	keep := p.keep
	prefix := ""
	if len(p.feeders) > 0 {
		prefix = "down."
	}
	ts := []tensorfile.Tensor{outTensor(prefix+"weight", []int{p.out, len(keep)}, p.weight, p.dtype)}
	if p.bias != nil {
		ts = append(ts, outTensor(prefix+"bias", []int{len(p.bias)}, p.bias, p.biasDt))
	}
	for _, f := range p.feeders {
		hidden := f.w.Shape[1]
		ts = append(ts, outTensor(f.name+".weight", []int{len(keep), hidden}, keptRows(f.w.Data, hidden, keep), f.w.Dtype))
		if f.b != nil {
			ts = append(ts, outTensor(f.name+".bias", []int{len(keep)}, keptRows(f.b.Data, 1, keep), f.b.Dtype))
		}
	}
	k := make([]int64, len(keep))
	for i, c := range keep {
		k[i] = int64(c)
	}
	return append(ts, tensorfile.Tensor{Name: "keep", Shape: []int{len(keep)}, Dtype: tensorfile.Int64, Ints: k})
}

// outTensor is a float tensor of --out, stored in the dtype it was read
// in where that is bfloat16 or float16 and its values still fit (they do
// unless compensation changed them), else as float32.
func outTensor(name string, shape []int, data []float32, read tensorfile.Dtype) tensorfile.Tensor {
	d := tensorfile.Float32
	if (read == tensorfile.BFloat16 || read == tensorfile.Float16) && tensorfile.Fits(read, data) {
		d = read
	}
	return tensorfile.Tensor{Name: name, Shape: shape, Dtype: d, Floats: data}
}

// write writes ts as the .safetensors file, with the width of the full
// input rows as in_features and PyTorch as the format, as
// transformers expects.
func (p prunedFile) write(w io.Writer, ts []tensorfile.Tensor) error {
	meta := map[string]string{chanprune.LayerInFeatures: strconv.Itoa(p.in), "format": "pt"}
	return tensorfile.WriteSafetensors(w, ts, meta)
}

// describeTensors lists ts for the summary line: "weight [5, 3] bfloat16, …".
func describeTensors(ts []tensorfile.Tensor) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%s %s %v", t.Name, shapeText(t.Shape), t.Dtype)
	}
	return strings.Join(parts, ", ")
}

// shapeText writes a shape as the summary line does: [5, 3].
func shapeText(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
