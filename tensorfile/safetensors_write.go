package tensorfile

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"unicode/utf8"
)

// A Tensor is one tensor for WriteSafetensors: Floats stored as Dtype
// (Float32, BFloat16 or Float16), or, with Dtype Int64, Ints.
type Tensor struct {
	Name   string
	Shape  []int
	Dtype  Dtype
	Floats []float32
	Ints   []int64
}

// stNames are the safetensors names of the dtypes WriteSafetensors
// writes.
var stNames = map[Dtype]string{Float32: "F32", BFloat16: "BF16", Float16: "F16", Int64: "I64"}

// WriteSafetensors writes the tensors as a .safetensors file, with
// metadata (may be nil) as its "__metadata__", in the layout the
// safetensors library writes: the header's keys sorted, padded with
// spaces to a multiple of 8 bytes, and the data of the wider dtypes
// first, so that every tensor starts 8-byte aligned with no gaps between
// them. Values are little-endian. A value that Dtype cannot hold exactly
// is refused (ErrDtype), never rounded: see Fits.
func WriteSafetensors(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	order, err := checkTensors(tensors)
	if err != nil {
		return err
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("%w: metadata %q: %q is not UTF-8", ErrFormat, k, v)
		}
	}
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var offset uint64
	for _, i := range order {
		t := tensors[i]
		size := uint64(t.len()) * uint64(dtypeSize(t.Dtype))
		shape := t.Shape
		if shape == nil {
			shape = []int{} // a scalar: [] in JSON, not null
		}
		header[t.Name] = stEntry{Dtype: stNames[t.Dtype], Shape: shape, Offsets: []uint64{offset, offset + size}}
		offset += size
	}
	js, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	bw := bufio.NewWriterSize(w, chunkBytes)
	bw.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(js))))
	bw.Write(js)
	var buf []byte
	for _, i := range order {
		t := tensors[i]
		for start := 0; start < t.len(); start += chunkBytes / 8 {
			buf = t.appendLE(buf[:0], start, min(t.len(), start+chunkBytes/8))
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// checkTensors checks names, dtypes, shapes and values, and returns the
// order the data is written in: wider dtypes first, then by name.
func checkTensors(tensors []Tensor) ([]int, error) {
	seen := map[string]bool{}
	for _, t := range tensors {
		switch {
		case t.Name == "" || t.Name == "__metadata__" || !utf8.ValidString(t.Name):
			return nil, fmt.Errorf("%w: tensor name %q is not allowed", ErrFormat, t.Name)
		case seen[t.Name]:
			return nil, fmt.Errorf("%w: tensor %q given twice", ErrFormat, t.Name)
		case stNames[t.Dtype] == "":
			return nil, fmt.Errorf("%w %s: tensor %q: want float32, bfloat16, float16 or int64", ErrDtype, t.Dtype, t.Name)
		}
		seen[t.Name] = true
		n, err := elemCount(t.Shape)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if n != t.len() {
			return nil, fmt.Errorf("%w: tensor %q of shape %v has %d values", ErrFormat, t.Name, t.Shape, t.len())
		}
		if t.Dtype != Int64 && len(t.Ints) > 0 || t.Dtype == Int64 && len(t.Floats) > 0 {
			return nil, fmt.Errorf("%w: tensor %q of dtype %s: Floats are for float dtypes, Ints for int64", ErrFormat, t.Name, t.Dtype)
		}
		if i, ok := firstMisfit(t.Dtype, t.Floats); ok {
			return nil, fmt.Errorf("%w: tensor %q: value %v at %d is not exactly a %s", ErrDtype, t.Name, t.Floats[i], i, t.Dtype)
		}
	}
	order := make([]int, len(tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ta, tb := tensors[a], tensors[b]
		return cmp.Or(cmp.Compare(dtypeSize(tb.Dtype), dtypeSize(ta.Dtype)), cmp.Compare(ta.Name, tb.Name))
	})
	return order, nil
}

// len returns the number of values the tensor holds.
func (t Tensor) len() int {
	if t.Dtype == Int64 {
		return len(t.Ints)
	}
	return len(t.Floats)
}

// appendLE appends values [start, end) to b, little-endian in t's dtype.
func (t Tensor) appendLE(b []byte, start, end int) []byte {
	le := binary.LittleEndian
	for i := start; i < end; i++ {
		switch t.Dtype {
		case Int64:
			b = le.AppendUint64(b, uint64(t.Ints[i]))
		case Float32:
			b = le.AppendUint32(b, math.Float32bits(t.Floats[i]))
		default:
			h, _ := narrow(t.Dtype, t.Floats[i]) // checkTensors checked it
			b = le.AppendUint16(b, h)
		}
	}
	return b
}

// dtypeSize returns the bytes per element of the dtypes WriteSafetensors
// writes.
func dtypeSize(d Dtype) int {
	switch d {
	case Int64, Float64:
		return 8
	case Float32:
		return 4
	}
	return 2
}
