package chanprune

import (
	"math"
	"testing"
)

// checkWidenAdd runs kern's widenAdd of src into a padded dst and holds
// dst's whole buffer to widenAddGeneric's result bit for bit: the entries
// past len(src) and around dst stay as they were, as does src.
func checkWidenAdd(t *testing.T, kern *kernel, dstVals []float64, src []float32) {
	t.Helper()
	buf, dst := padded(dstVals, 3)
	want := append([]float64(nil), buf...)
	widenAddGeneric(want[solvePad:], src)
	srcWas := append([]float32(nil), src...)
	kern.widenAdd(dst, src)
	for i := range buf {
		if math.Float64bits(buf[i]) != math.Float64bits(want[i]) {
			t.Fatalf("n = %d: dst buffer entry %d (entry %d of dst) = %v, widenAddGeneric gives %v",
				len(src), i, i-solvePad, buf[i], want[i])
		}
	}
	for i := range src {
		if math.Float32bits(src[i]) != math.Float32bits(srcWas[i]) {
			t.Fatalf("n = %d: widenAdd changed src[%d]", len(src), i)
		}
	}
}

// TestWidenAddKernels: every kernel's widenAdd (a fit set's Σ xᵀx) equals
// the generic one bit for bit, over the lengths of the solves' tests, with
// dst three entries longer than src.
func TestWidenAddKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(159)
		for _, n := range solveLengths {
			src := make([]float32, n)
			for i, v := range mixedValues(r, n) {
				src[i] = float32(v * 0x1p-3)
			}
			checkWidenAdd(t, kern, mixedValues(r, n+3), src)
		}
	})
}

// FuzzWidenAdd holds every kernel's widenAdd to the generic one bit for
// bit on lengths and values decoded from the input.
func FuzzWidenAdd(f *testing.F) {
	fuzzVectors(f, func(t *testing.T, kern *kernel, n int, vals *fuzzFloats) {
		src := make([]float32, n)
		for i, v := range vals.vector64(n) {
			src[i] = float32(v)
		}
		checkWidenAdd(t, kern, vals.vector64(n+3), src)
	})
}

// fuzzVectors is the body of the fuzz targets of the vector kernels
// (widenAdd, moveAdd): for each input and kernel, run gets a length
// below 300 and the values decoded from the input.
func fuzzVectors(f *testing.F, run func(t *testing.T, kern *kernel, n int, vals *fuzzFloats)) {
	for _, n := range []uint16{0, 1, 7, 8, 15, 16, 17, 100} {
		f.Add(n, []byte{0x3f, 0xf0, 0, 1, 0xbf, 0x7f, 0xff, 0xff, 0x80})
	}
	f.Fuzz(func(t *testing.T, n uint16, data []byte) {
		forEachKernel(t, func(t *testing.T, kern *kernel) {
			run(t, kern, int(n)%300, &fuzzFloats{data: data})
		})
	})
}
