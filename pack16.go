package chanprune

import "math"

// A weight stored in 16 bits keeps the packed panels' layout (packWeight),
// row by row of nr outputs, in output order, with one exception for the
// kernels with kernel.bf16Pairs set (the x86 ones), which widen bfloat16 by
// moving each value to the top half of a float32: their bfloat16 rows are
// stored in pairs, the dword d holding output d in its low half and output
// nr/2+d in its high half, so that a shift gives the first half of the
// outputs and a mask the second, without a shuffle (asm/gemv.go). NEON
// widens a row in order (USHLL), as every kernel does float16.

// slot16 returns where output j of a row is stored in format f for k.
func (k *kernel) slot16(f WeightFormat, j int) int {
	if f != BFloat16 || !k.bf16Pairs {
		return j
	}
	if h := k.nr / 2; j >= h {
		return 2*(j-h) + 1
	}
	return 2 * j
}

// pack16 rounds src, whole rows of k.nr float32 values in output order, to
// format f into dst (the same length) in k's layout. Values f cannot hold
// finite come out as Inf or NaN bits; Compact has ruled them out.
func (k *kernel) pack16(dst []uint16, src []float32, f WeightFormat) {
	for r := 0; r < len(src); r += k.nr {
		for j, v := range src[r : r+k.nr] {
			dst[r+k.slot16(f, j)], _ = narrow(f, v)
		}
	}
}

// unpack16 widens src, whole rows of k.nr values in format f and k's
// layout, into dst (the same length) in output order: the inverse of
// pack16. It is the generic kernels' widen16Func and the reference of the
// SIMD ones, hence a loop per layout.
func (k *kernel) unpack16(dst []float32, src []uint16, f WeightFormat) {
	dst = dst[:len(src)]
	switch {
	case f == BFloat16 && k.bf16Pairs:
		h := k.nr / 2
		for r := 0; r < len(src); r += k.nr {
			s, d := src[r:r+k.nr], dst[r:r+k.nr]
			for j := range h {
				d[j] = math.Float32frombits(uint32(s[2*j]) << 16)
				d[h+j] = math.Float32frombits(uint32(s[2*j+1]) << 16)
			}
		}
	case f == BFloat16:
		for i, v := range src {
			dst[i] = math.Float32frombits(uint32(v) << 16)
		}
	default:
		for i, v := range src {
			dst[i] = float16ToFloat32(v)
		}
	}
}
