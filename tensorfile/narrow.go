package tensorfile

import (
	"math"

	"github.com/chanprune/chanprune/internal/npy"
)

// Fits reports whether every value of data is exactly a value of d, so
// that storing data as d loses nothing: always for Float32 and Float64,
// for BFloat16 and Float16 when the values were read from such a tensor
// (or happen to be representable), never for other dtypes.
func Fits(d Dtype, data []float32) bool {
	if d == Float32 || d == Float64 {
		return true
	}
	if d != BFloat16 && d != Float16 {
		return false
	}
	_, misfit := firstMisfit(d, data)
	return !misfit
}

// firstMisfit returns the index of the first value of data that d (a
// float dtype) cannot hold exactly.
func firstMisfit(d Dtype, data []float32) (int, bool) {
	if d != BFloat16 && d != Float16 {
		return 0, false
	}
	for i, v := range data {
		if _, ok := narrow(d, v); !ok {
			return i, true
		}
	}
	return 0, false
}

// narrow returns v's bits as a bfloat16 or float16 (d), and whether they
// are exactly v. NaN is kept as a NaN of the same sign.
func narrow(d Dtype, v float32) (uint16, bool) {
	bits := math.Float32bits(v)
	if d == BFloat16 {
		if v != v {
			return uint16(bits>>16) | 0x40, true // quiet, whatever payload the low half had
		}
		return uint16(bits >> 16), bits&0xffff == 0
	}
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23&0xff) - 127
	mant := bits & 0x7fffff
	var h uint16
	switch {
	case v != v:
		return sign | 0x7e00, true
	case exp == 128: // ±Inf
		h = sign | 0x7c00
	case v == 0:
		h = sign
	case exp >= -14 && exp <= 15: // a normal half
		h = sign | uint16(exp+15)<<10 | uint16(mant>>13)
	case exp >= -24 && exp < -14: // a subnormal half: the implicit bit joins the mantissa
		h = sign | uint16((mant|1<<23)>>(13-14-exp))
	default:
		return 0, false
	}
	return h, npy.Float16to32(h) == v
}
