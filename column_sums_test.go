package chanprune

import (
	"math"
	"testing"
)

// checkColumnSums runs kern's columnSums on a panel of rows rows (values
// from next) into sums that start at s0 and q0 and holds them to
// columnSumsGeneric's bit for bit, the entries past nr included, and the
// panel to what it was.
func checkColumnSums(t *testing.T, kern *kernel, rows int, next func() float64) {
	t.Helper()
	nr := kern.nr
	panel := make([]float32, rows*nr)
	for i := range panel {
		panel[i] = float32(next())
	}
	was := append([]float32(nil), panel...)
	s, q := make([]float64, nr+3), make([]float64, nr+3)
	for i := range s {
		s[i], q[i] = next(), math.Abs(next())
	}
	wantS, wantQ := append([]float64(nil), s...), append([]float64(nil), q...)
	kern.columnSumsGeneric(panel, wantS, wantQ)
	kern.columnSums(panel, s, q)
	for i := range s {
		if math.Float64bits(s[i]) != math.Float64bits(wantS[i]) || math.Float64bits(q[i]) != math.Float64bits(wantQ[i]) {
			t.Fatalf("%d rows: channel %d: sums %v, %v; columnSumsGeneric gives %v, %v", rows, i, s[i], q[i], wantS[i], wantQ[i])
		}
	}
	if !sameBits(panel, was) {
		t.Fatalf("%d rows: columnSums changed the panel", rows)
	}
}

// TestColumnSumsKernels: every kernel's columnSums (a Gram panel's Σx and
// Σx² per channel) equals the generic one bit for bit, from no rows to a
// block's, on values of mixed sign and magnitude.
func TestColumnSumsKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(223)
		next := func() float64 { return r.NormFloat64() * math.Exp2(float64(r.IntN(40)-20)) }
		for _, rows := range []int{0, 1, 2, 3, 7, 64, 129, gramRows} {
			checkColumnSums(t, kern, rows, next)
		}
	})
}

// FuzzColumnSums holds every kernel's columnSums to the generic one bit for
// bit on row counts and values decoded from the input.
func FuzzColumnSums(f *testing.F) {
	for _, rows := range []uint16{0, 1, 5, 31, 256} {
		f.Add(rows, []byte{0x3f, 0xf0, 0, 1, 0xbf, 0x7f, 0xff, 0xff, 0x80})
	}
	f.Fuzz(func(t *testing.T, rows uint16, data []byte) {
		forEachKernel(t, func(t *testing.T, kern *kernel) {
			vals := &fuzzFloats{data: data}
			checkColumnSums(t, kern, int(rows)%300, vals.next64)
		})
	})
}
