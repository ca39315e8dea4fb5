package chanprune

import (
	"math"
	"testing"
)

// checkMoveAdd runs kern's moveAdd of src into a padded dst, src padded
// too, and holds both buffers to moveAddGeneric's results bit for bit: dst
// is the sums, src all +0, and the entries past len(src) and around the
// two stay as they were.
func checkMoveAdd(t *testing.T, kern *kernel, dstVals, srcVals []float64) {
	t.Helper()
	dstBuf, dst := padded(dstVals, 3)
	srcBuf, src := padded(srcVals, 0)
	wantDst := append([]float64(nil), dstBuf...)
	wantSrc := append([]float64(nil), srcBuf...)
	moveAddGeneric(wantDst[solvePad:], wantSrc[solvePad:solvePad+len(src)])
	kern.moveAdd(dst, src)
	for _, b := range [...]struct {
		name      string
		got, want []float64
	}{{"dst", dstBuf, wantDst}, {"src", srcBuf, wantSrc}} {
		for i := range b.got {
			if math.Float64bits(b.got[i]) != math.Float64bits(b.want[i]) {
				t.Fatalf("n = %d: %s buffer entry %d (entry %d of %s) = %v, moveAddGeneric gives %v",
					len(src), b.name, i, i-solvePad, b.name, b.got[i], b.want[i])
			}
		}
	}
	for i, v := range src {
		if math.Float64bits(v) != 0 {
			t.Fatalf("n = %d: src[%d] = %v after the move, want +0", len(src), i, v)
		}
	}
}

// TestMoveAddKernels: every kernel's moveAdd (a sweep band's column sums
// moved into the channels') equals the generic one bit for bit, over the
// lengths of the solves' tests, with dst three entries longer than src,
// and with −0, infinities and NaN among the values.
func TestMoveAddKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(163)
		for _, n := range solveLengths {
			src, dst := mixedValues(r, n), mixedValues(r, n+3)
			for i := 0; i < n; i += 7 {
				src[i] = []float64{math.Copysign(0, -1), math.Inf(1), math.NaN(), math.Inf(-1)}[i/7%4]
			}
			checkMoveAdd(t, kern, dst, src)
		}
	})
}

// FuzzMoveAdd holds every kernel's moveAdd to the generic one bit for bit
// on lengths and values decoded from the input.
func FuzzMoveAdd(f *testing.F) {
	fuzzVectors(f, func(t *testing.T, kern *kernel, n int, vals *fuzzFloats) {
		checkMoveAdd(t, kern, vals.vector64(n+3), vals.vector64(n))
	})
}
