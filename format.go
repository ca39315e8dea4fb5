package chanprune

import (
	"fmt"
	"math"
	"strings"
)

// A WeightFormat is how a Layer stores its weight: float32, or one of the
// 16-bit formats models ship in, which halve the bytes a call with few
// tokens reads. The kernels widen 16-bit weights to float32 in registers
// and multiply and add in float32, so a Layer in a 16-bit format gives, bit
// for bit, the output of a float32 Layer built from the widened weights.
type WeightFormat int

// The weight formats.
const (
	Float32  WeightFormat = iota // IEEE binary32, as given
	BFloat16                     // bfloat16: the top half of a float32
	Float16                      // IEEE binary16
)

var formatNames = [...]string{Float32: "float32", BFloat16: "bfloat16", Float16: "float16"}

// String returns the format's name: float32, bfloat16 or float16.
func (f WeightFormat) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return fmt.Sprintf("WeightFormat(%d)", int(f))
	}
	return formatNames[f]
}

// ParseWeightFormat returns the format named s: float32, bfloat16 or
// float16, or the short names f32, bf16 and f16 (case-insensitive).
func ParseWeightFormat(s string) (WeightFormat, error) {
	switch strings.ToLower(s) {
	case "float32", "f32", "fp32":
		return Float32, nil
	case "bfloat16", "bf16":
		return BFloat16, nil
	case "float16", "f16", "fp16":
		return Float16, nil
	}
	return 0, fmt.Errorf("weight format %q: want float32, bfloat16 or float16: %w", s, ErrOption)
}

// WithWeightFormat stores a Layer's weight (NewLayer, Compact,
// CompactByScores) in format f. The float32 weights given are rounded to f
// to nearest, ties to even: exactly when they came from f (as the widened
// bfloat16 and float16 tensors of package tensorfile do), otherwise with
// f's rounding error, which Weight then shows. A weight that is not finite
// in f after rounding (NaN, ±Inf, or beyond f's range) is an error. The
// bias stays float32. An Evaluator ignores the option.
func WithWeightFormat(f WeightFormat) Option { return func(c *config) { c.format = f } }

// narrow rounds v to format f (BFloat16 or Float16), returning its bits and
// whether the result is finite.
func narrow(f WeightFormat, v float32) (uint16, bool) {
	if f == BFloat16 {
		return toBFloat16(v)
	}
	return toFloat16(v)
}

// widen returns the float32 value of bits h of format f (BFloat16 or
// Float16); every such value is exact in float32.
func widen(f WeightFormat, h uint16) float32 {
	if f == BFloat16 {
		return math.Float32frombits(uint32(h) << 16)
	}
	return float16ToFloat32(h)
}

// toBFloat16 rounds v to bfloat16 to nearest, ties to even.
func toBFloat16(v float32) (uint16, bool) {
	b := math.Float32bits(v)
	if b&0x7f800000 == 0x7f800000 {
		return 0, false // NaN or Inf
	}
	b += 0x7fff + (b>>16)&1
	h := uint16(b >> 16)
	return h, h&0x7f80 != 0x7f80
}

// toFloat16 rounds v to IEEE binary16 to nearest, ties to even, subnormals
// included.
func toFloat16(v float32) (uint16, bool) {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	if b&0x7f800000 == 0x7f800000 {
		return 0, false
	}
	if exp >= 31 {
		return 0, false
	}
	var shift uint32
	if exp > 0 {
		// 23 mantissa bits to 10: drop 13, keeping the implicit bit's
		// carry into the exponent.
		m := uint32(exp)<<23 | mant
		shift = 13
		r := roundShift(m, shift)
		if r >= 0x1f<<10 {
			return 0, false
		}
		return sign | uint16(r), true
	}
	// Subnormal (or zero) in binary16: value = m·2^-24.
	if exp < -10 {
		return sign, true // below half the smallest subnormal
	}
	m := mant | 0x800000
	shift = uint32(14 - exp)
	return sign | uint16(roundShift(m, shift)), true
}

// roundShift returns m >> s rounded to nearest, ties to even (s ≥ 1).
func roundShift(m, s uint32) uint32 {
	half := uint32(1) << (s - 1)
	q, rem := m>>s, m&(1<<s-1)
	if rem > half || rem == half && q&1 == 1 {
		q++
	}
	return q
}

// float16ToFloat32 widens IEEE binary16 bits, subnormals included.
func float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: m·2^-24, exact in float32.
	v := float32(mant) * 0x1p-24
	return math.Float32frombits(sign | math.Float32bits(v))
}
