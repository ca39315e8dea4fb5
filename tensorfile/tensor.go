package tensorfile

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/chanprune/chanprune/internal/npy"
)

// tensor is an array stored in a file: elements of dt from byte base of
// src, laid out by shape and strides (in elements) from element offset.
type tensor struct {
	src     io.ReaderAt
	base    int64
	avail   int64 // elements src holds from base: checked, or if !sized declared
	sized   bool
	dt      dtype
	shape   []int
	strides []int
	offset  int64
}

// newTensor checks that the layout stays inside the avail elements and
// that the dtype converts.
func newTensor(src io.ReaderAt, base, avail int64, sized bool, dt dtype, shape, strides []int, offset int64) (tensor, error) {
	t := tensor{src, base, avail, sized, dt, shape, strides, offset}
	if err := dt.check(); err != nil {
		return t, err
	}
	if len(shape) != len(strides) || len(shape) > npy.MaxDims {
		return t, fmt.Errorf("%w: shape %v with strides %v", ErrFormat, shape, strides)
	}
	n, err := elemCount(shape)
	if err != nil {
		return t, err
	}
	if offset < 0 {
		return t, fmt.Errorf("%w: negative offset %d", ErrFormat, offset)
	}
	if n == 0 {
		return t, nil
	}
	last := offset // the last element the layout touches
	for k, d := range shape {
		s := strides[k]
		if s < 0 {
			return t, fmt.Errorf("%w: negative stride in %v", ErrFormat, strides)
		}
		if s > 0 && int64(d-1) > (npy.MaxElems-last)/int64(s) {
			return t, fmt.Errorf("%w: shape %v with strides %v from %d", ErrTooLarge, shape, strides, offset)
		}
		last += int64(d-1) * int64(s)
	}
	if last >= avail {
		return t, fmt.Errorf("%w: shape %v with strides %v from element %d needs %d elements, the data holds %d",
			ErrFormat, shape, strides, offset, last+1, avail)
	}
	// Elements that overlap (an expanded view, stride 0) would let a few
	// stored bytes stand for any number of elements.
	if int64(n) > last-offset+1 {
		return t, fmt.Errorf("%w: shape %v with strides %v reuses elements (an expanded view?): save it with .contiguous()",
			ErrFormat, shape, strides)
	}
	return t, nil
}

// floatTensor finds the tensor key of f and refuses it unless it
// converts to float32, as every batch must.
func floatTensor(f file, key string) (tensor, error) {
	t, err := f.tensor(key)
	if err != nil {
		return t, err
	}
	return t, t.dt.checkFloat()
}

// elemCount returns the product of shape's dimensions, at most
// npy.MaxElems.
func elemCount(shape []int) (int, error) {
	n, ok := npy.Count(shape)
	switch {
	case ok:
		return n, nil
	case slices.ContainsFunc(shape, func(d int) bool { return d < 0 }):
		return 0, fmt.Errorf("%w: negative dimension in shape %v", ErrFormat, shape)
	}
	return 0, fmt.Errorf("%w: shape %v has more than %d elements", ErrTooLarge, shape, npy.MaxElems)
}

// cStrides returns the strides of a C-order (row-major) array.
func cStrides(shape []int) []int {
	s := make([]int, len(shape))
	step := 1
	for k := len(shape) - 1; k >= 0; k-- {
		s[k] = step
		step *= shape[k]
	}
	return s
}

// fortranStrides returns the strides of a Fortran-order array.
func fortranStrides(shape []int) []int {
	s := make([]int, len(shape))
	step := 1
	for k, d := range shape {
		s[k] = step
		step *= d
	}
	return s
}

// contiguous reports whether the elements lie in C order without gaps.
func (t tensor) contiguous() bool {
	c := cStrides(t.shape)
	for k, d := range t.shape {
		if d > 1 && t.strides[k] != c[k] {
			return false
		}
	}
	return true
}

// row returns the i-th sub-array along the leading axis.
func (t tensor) row(i int) tensor {
	r := t
	r.shape, r.strides = t.shape[1:], t.strides[1:]
	r.offset += int64(i) * int64(t.strides[0])
	return r
}

// read reads the tensor as float32 in C order, into buf's memory when it
// has the capacity, and then has its source (a zip member) verify its
// checksum, so that no damaged value comes back.
func (t tensor) read(buf []float32) (*Array, error) {
	if err := t.dt.checkFloat(); err != nil {
		return nil, err
	}
	a, err := t.readData(buf)
	if err != nil {
		return nil, err
	}
	if err := t.verify(); err != nil {
		return nil, err
	}
	a.Dtype = t.dt.kind
	return a, nil
}

// verify has the tensor's source, if it is a zip member, check its CRC-32
// and that it holds the bytes it declares.
func (t tensor) verify() error {
	if v, ok := t.src.(interface{ verify() error }); ok {
		return v.verify()
	}
	return nil
}

// readData reads a contiguous tensor in one pass, a strided one whose span
// is at most twice its size by reading the span and gathering, and a
// sparser view with readSparse, so memory follows the tensor's size, not
// its span.
func (t tensor) readData(buf []float32) (*Array, error) {
	shape := slices.Clone(t.shape)
	n, _ := elemCount(shape) // newTensor checked it
	if n == 0 {
		return &Array{Shape: shape, Data: buf[:0]}, nil
	}
	span := int64(1) // elements from the first to the last one touched
	for k, d := range shape {
		span += int64(d-1) * int64(t.strides[k])
	}
	size := int64(t.dt.size)
	r := io.NewSectionReader(t.src, t.base+t.offset*size, span*size)
	if t.contiguous() {
		data, err := readFloats(r, t.dt, n, buf, t.sized)
		if err != nil {
			return nil, err
		}
		return &Array{Shape: shape, Data: data}, nil
	}
	if span > 2*int64(n) {
		// readSparse allocates for the view before reading: a deflated
		// source must first show that it holds the bytes it declares.
		if !t.sized {
			if err := t.verify(); err != nil {
				return nil, err
			}
		}
		data := floatsIn(buf, n)
		if err := t.readSparse(data, r); err != nil {
			return nil, err
		}
		return &Array{Shape: shape, Data: data}, nil
	}
	src, err := readFloats(r, t.dt, int(span), nil, t.sized)
	if err != nil {
		return nil, err
	}
	data := floatsIn(buf, n)
	npy.Gather(data, src, shape, t.strides)
	return &Array{Shape: shape, Data: data}, nil
}

// floatsIn returns n floats in buf's memory if it has the capacity.
func floatsIn(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// readSparse fills dst with the elements of a view much smaller than its
// span, read from r (the span): it visits the elements in the order of
// their offsets and, at each one the last read did not cover, reads up to
// the last element within a chunk of it, so a stored member is read only
// where elements lie and a deflated one streams once.
func (t tensor) readSparse(dst []float32, r io.ReaderAt) error {
	offs := make([]int64, len(dst)) // of each element of dst, from the first
	idx := make([]int, len(t.shape))
	for i := 1; i < len(offs); i++ {
		offs[i] = offs[i-1]
		for k := len(idx) - 1; k >= 0; k-- { // advance idx, carrying into earlier axes
			idx[k]++
			offs[i] += int64(t.strides[k])
			if idx[k] < t.shape[k] {
				break
			}
			offs[i] -= int64(idx[k]) * int64(t.strides[k])
			idx[k] = 0
		}
	}
	order := make([]int, len(dst))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(offs[a], offs[b]) })

	pooled := chunks.Get().(*[chunkBytes]byte)
	defer chunks.Put(pooled)
	size := int64(t.dt.size)
	per := int64(chunkBytes) / size
	var lo, hi int64 // the elements the chunk holds
	for j, i := range order {
		if o := offs[i]; o >= hi {
			// Read from o through the last element within a chunk of it.
			lo, hi = o, o+1
			for _, k := range order[j+1:] {
				if offs[k] >= lo+per {
					break
				}
				hi = offs[k] + 1
			}
			n, err := r.ReadAt(pooled[:(hi-lo)*size], lo*size)
			if int64(n) < (hi-lo)*size {
				if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return fmt.Errorf("%w: the data ends before element %d", ErrTruncated, t.offset+hi-1)
				}
				return err
			}
		}
		t.dt.decode(dst[i:i+1], pooled[(offs[i]-lo)*size:])
	}
	return nil
}
