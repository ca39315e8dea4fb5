// Package npy reads and writes NumPy .npy files holding floating-point
// arrays.
//
// Read accepts format versions 1.0, 2.0 and 3.0 with dtypes float16,
// float32 and float64 in explicit little- or big-endian byte order ('<' or
// '>'), in C or Fortran order, and always returns float32 data in C
// (row-major) order. Write produces version 1.0 files with dtype '<f4', the
// same bytes numpy.save writes for a C-contiguous float32 array.
//
// Data is decoded with encoding/binary, so the package behaves the same on
// little- and big-endian hosts.
package npy

import "errors"

// Array is an n-dimensional float32 array in C (row-major) order.
type Array struct {
	Shape []int
	Data  []float32
}

// Len returns the number of elements implied by Shape: the product of the
// dimensions, 1 for a scalar (empty Shape). It does not check for overflow;
// arrays returned by Read never overflow.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// Header is the parsed header of a .npy file.
type Header struct {
	Dtype        string // the 'descr' value, e.g. "<f4"
	FortranOrder bool
	Shape        []int
	DataOffset   int64 // offset of the first data byte from the start of the file
}

// Sentinel errors, for use with errors.Is. Returned errors wrap one of them
// and add what was wrong.
var (
	// ErrFormat reports a bad magic string, version, header or dict, a
	// truncated header or trailing bytes after the data.
	ErrFormat = errors.New("npy: not a valid .npy file")
	// ErrDtype reports a dtype other than float16/32/64 with '<' or '>'.
	ErrDtype = errors.New("npy: unsupported dtype")
	// ErrTruncated reports data shorter than the header's shape requires.
	ErrTruncated = errors.New("npy: data shorter than the header's shape")
	// ErrTooLarge reports a shape whose size overflows or exceeds a limit.
	ErrTooLarge = errors.New("npy: shape too large")
)
