package chanprune

// A weight stored in 16 bits keeps the packed panels' layout (packWeight),
// row by row of nr outputs, with one change for bfloat16, which the kernels
// widen by moving each value to the top half of a float32: its rows are
// stored in pairs, the dword d holding output d in its low half and output
// nr/2+d in its high half, so that a shift gives the first half of the
// outputs and a mask the second, without a shuffle (asm/gemv.go). float16
// rows are in output order.

// slot16 returns where output j of a row of nr is stored in format f.
func slot16(f WeightFormat, j, nr int) int {
	if f != BFloat16 {
		return j
	}
	if h := nr / 2; j >= h {
		return 2*(j-h) + 1
	}
	return 2 * j
}

// pack16 rounds src, whole rows of nr float32 values in output order, to
// format f into dst (the same length) in f's layout. Values f cannot hold
// finite come out as Inf or NaN bits; Compact has ruled them out.
func pack16(dst []uint16, src []float32, f WeightFormat, nr int) {
	for r := 0; r < len(src); r += nr {
		for j, v := range src[r : r+nr] {
			dst[r+slot16(f, j, nr)], _ = narrow(f, v)
		}
	}
}

// unpack16 widens src, whole rows of nr values in format f's layout, into
// dst (the same length) in output order: the inverse of pack16.
func unpack16(dst []float32, src []uint16, f WeightFormat, nr int) {
	for r := 0; r < len(src); r += nr {
		for j := range dst[r : r+nr] {
			dst[r+j] = widen(f, src[r+slot16(f, j, nr)])
		}
	}
}
