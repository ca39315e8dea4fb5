// Package npy writes NumPy .npy files: Write produces version 1.0 files
// with dtype '<f4', the same bytes numpy.save writes for a C-contiguous
// float32 array. Reading them is package tensorfile's job; this package
// holds the limits and conversions its readers share.
//
// Data is encoded with encoding/binary, so the package behaves the same on
// little- and big-endian hosts.
package npy

import "math"

const (
	// Magic starts every .npy file.
	Magic = "\x93NUMPY"
	// MaxDims is numpy's own limit on the number of dimensions.
	MaxDims = 64
	// MaxElems keeps element counts times 8 bytes within int (and int64),
	// so neither a data size on disk nor a []float32 can overflow.
	MaxElems = math.MaxInt / 8
)

// Count returns the product of shape's dimensions; ok is false if one is
// negative or the product exceeds MaxElems.
func Count(shape []int) (n int, ok bool) {
	n = 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > MaxElems/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}
