package chanprune

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Tests of sweepSplit (kernel.go) against the two kernels it fuses: the
// kernel's own contractSplit and lowerSplitSets. The columns must be bit
// for bit what those give (colW's last len mod contractBlock entries as
// contractSplit forms them on the row padded with zeros, or, for
// sweepSplitEach, as contractSplitRow does), the sums within the split
// kernels' tolerances (the sets' as setSumOK holds them); every slice runs
// past the row with guards, as in split_test.go and split_sets_test.go.

// sweepSplitCase is one call of a sweepSplitFunc: the sets' case and the
// contract part's diagonals and columns (splitGuards past the row).
type sweepSplitCase struct {
	*lowerSplitSetsCase
	hd, gd     []float64
	fg, fh     float64
	colV, colW []float64
}

// newSweepSplitCase draws a case of sets score sets on a row of n entries
// from gen, the diagonals positive.
func newSweepSplitCase(r *rand.Rand, n, sets int, fg, fh float64, gen func() float32) *sweepSplitCase {
	c := &sweepSplitCase{lowerSplitSetsCase: newLowerSplitSetsCase(r, n, setsGap, sets, setBelows(n), gen), fg: fg, fh: fh}
	_, _, c.hd, c.gd = splitRow(n, gen)
	c.colV, c.colW = make([]float64, n+splitGuards), make([]float64, n+splitGuards)
	for j := range c.colV {
		c.colV[j], c.colW[j] = splitGuard, splitGuard
		if j < n {
			c.colV[j], c.colW[j] = r.NormFloat64(), math.Abs(r.NormFloat64())
		}
	}
	return c
}

// contractPadded is kern's contractSplit on c's row padded with zeros to
// whole blocks: the columns (the row's entries) and sums that a fused
// kernel's in-kernel tail gives.
func contractPadded(kern *kernel, c *sweepSplitCase, s *sums) (colV, colW []float64) {
	n := len(c.h)
	size := (n + contractBlock - 1) / contractBlock * contractBlock
	colV, colW = padZeros(c.colV, n, size), padZeros(c.colW, n, size)
	kern.contractSplit(padZeros(c.h, n, size), padZeros(c.g, n, size), padZeros(c.hd, n, size), padZeros(c.gd, n, size), c.fg, c.fh, colV, colW, s)
	return colV[:n], colW[:n]
}

// padZeros returns a copy of x's first n entries followed by zeros up to size.
func padZeros[E float32 | float64](x []E, n, size int) []E {
	return append(append(make([]E, 0, size), x[:n]...), make([]E, size-n)...)
}

// from returns c without its first lead entries: the same slices from
// entry lead on (each set's ranks and columns too, the stride kept).
func (c *sweepSplitCase) from(lead int) *sweepSplitCase {
	s := *c.lowerSplitSetsCase
	s.h, s.g, s.ranks, s.cols = s.h[lead:], s.g[lead:], s.ranks[lead:], s.cols[lead:]
	return &sweepSplitCase{&s, c.hd[lead:], c.gd[lead:], c.fg, c.fh, c.colV[lead:], c.colW[lead:]}
}

// checkSweepSplit runs kern's sweepSplit on c leaving out the row's first
// lead entries and holds it to kern's contractSplit (contractSplitRow and
// contractPadded) and lowerSplitSets on the rest (c.from(lead)): the
// columns of the entries left out must keep their bits.
func checkSweepSplit(t *testing.T, kern *kernel, c *sweepSplitCase, lead int) {
	t.Helper()
	n, sets := len(c.h), len(c.below)
	kept := c.from(lead)
	payload := math.Float64frombits(0x7ff8_0000_dead_beef)
	start := sums{0.5, math.Copysign(0, -1), 2, payload}
	twin, padded := start, start
	gotS := []sums{start, start} // the second, past the call's rows, stays
	gotV, gotW := append([]float64(nil), c.colV...), append([]float64(nil), c.colW...)
	twinV, twinW := append([]float64(nil), c.colV...), append([]float64(nil), c.colW...)
	gotCols, twinCols := append([]float64(nil), c.cols...), append([]float64(nil), c.cols...)
	gotSums, twinSums := append([]float64(nil), c.sums...), append([]float64(nil), c.sums...)

	kern.sweepSplit(c.h, c.g, c.hd, c.gd, []float64{c.fg, c.fh}, gotV, gotW, gotS[:1], c.ranks, c.below, gotCols, c.stride, gotSums, 0, 0, lead, 0)
	got := gotS[0]
	if !sameSums(gotS[1], start) {
		t.Fatalf("%s n=%d sets=%d lead=%d: s[1], past the one row, = %v", kern.name, n, sets, lead, gotS[1])
	}
	kern.contractSplitRow(kept.h, kept.g, kept.hd, kept.gd, c.fg, c.fh, twinV[lead:], twinW[lead:], &twin)
	_, padW := contractPadded(kern, kept, &padded)
	kern.lowerSplitSets(kept.h, kept.g, kept.ranks, c.below, twinCols[lead:], c.stride, twinSums)

	var abs [2]float64 // Σ|v|, Σ|w| for the sums' tolerance
	for j := lead; j < n; j++ {
		hv, gv := float64(c.h[j]), float64(c.g[j])
		abs[0] += math.Abs(hv * gv)
		abs[1] += math.Abs(c.fg*hv*hv*float64(c.gd[j])) + math.Abs(c.fh*gv*gv*float64(c.hd[j]))
	}
	for j := range gotV {
		if !sameFloat(gotV[j], twinV[j]) {
			t.Fatalf("%s n=%d sets=%d lead=%d: colV[%d] = %v, twin %v", kern.name, n, sets, lead, j, gotV[j], twinV[j])
		}
		if !sameFloat(gotW[j], twinW[j]) && (j < lead || j >= n || !sameFloat(gotW[j], padW[j-lead])) {
			t.Fatalf("%s n=%d sets=%d lead=%d: colW[%d] = %v (%#x), contractSplitRow %v, contractSplit padded %v",
				kern.name, n, sets, lead, j, gotW[j], math.Float64bits(gotW[j]), twinW[j], padW[max(0, min(j-lead, len(padW)-1))])
		}
	}
	for j := range gotCols {
		if !sameFloat(gotCols[j], twinCols[j]) {
			t.Fatalf("%s n=%d sets=%d lead=%d: cols[%d] (set %d, entry %d) = %v, lowerSplitSets %v",
				kern.name, n, sets, lead, j, j/c.stride, j%c.stride, gotCols[j], twinCols[j])
		}
	}
	for k, i := range []int{0, 2} {
		// Both within checkContractSplit's bound of the truth.
		tol := 2 * (float64(n-lead+8)*0x1p-53*abs[k] + 0x1p-50*math.Abs(start[i]))
		if !closeOrSame(got[i], twin[i], tol) {
			t.Fatalf("%s n=%d sets=%d lead=%d: s[%d] = %v, contractSplitRow %v ± %v", kern.name, n, sets, lead, i, got[i], twin[i], tol)
		}
	}
	for _, i := range []int{1, 3} {
		if math.Float64bits(got[i]) != math.Float64bits(start[i]) {
			t.Fatalf("%s n=%d sets=%d lead=%d: s[%d] = %v, want it left at %v", kern.name, n, sets, lead, i, got[i], start[i])
		}
	}
	for s := range gotSums {
		if s >= sets {
			if gotSums[s] != splitGuard {
				t.Fatalf("%s n=%d sets=%d lead=%d: sums[%d] past the sets = %v", kern.name, n, sets, lead, s, gotSums[s])
			}
			continue
		}
		if ok, want, tol := setSumOK(gotSums[s], setsStart, kept.h, kept.g, kept.ranks[s*c.stride:][:n-lead], c.below[s]); !ok {
			t.Fatalf("%s n=%d sets=%d lead=%d: sums[%d] = %v, want %v ± %v (lowerSplitSets: %v)", kern.name, n, sets, lead, s, gotSums[s]-setsStart, want, tol, twinSums[s]-setsStart)
		}
	}
}

// leadSpecials fills the first lead entries of c's row (those a call
// leaves out) with NaNs and infinities, which must reach nothing.
func leadSpecials(c *sweepSplitCase, lead int) {
	for j := range lead {
		v := splitSpecials[j%len(splitSpecials)]
		c.h[j], c.g[j] = v, -v
		c.hd[j], c.gd[j] = float64(v), float64(v)
	}
}

// sameSums reports whether a and b hold the same bits.
func sameSums(a, b sums) bool {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// TestSweepSplitRows holds a call of several rows to the same kernel
// called row by row: the rows lie ldh and ldg apart in h and g (at least
// as wide as the rows), their belows and sums one after another, and
// share the columns, each row leaving out shift entries more than the one
// before, from lead (shift 0: a rectangle; 1: the rows past a diagonal),
// so every column, row sum and set sum must come out bit for bit as the
// rows one call each give them; the slots past the last row's (another
// row's s, belows and sums, guards in the columns) stay as they were. A
// kernel that steps a row's pointer or lead wrongly, or runs one row too
// many or too few, fails it.
func TestSweepSplitRows(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(79)
		normal := func() float32 { return float32(r.NormFloat64()) }
		for _, k := range []*kernel{kern, withSweepEach(kern)} {
			for _, rows := range []int{1, 2, 3, 14} {
				for _, sets := range []int{0, 1, 5, 9} {
					for _, n := range []int{0, 1, 13, 15, 16, 17, 40, 100} {
						for _, shift := range []int{0, 1, 2} {
							for _, lead := range []int{0, 3, 9} {
								checkSweepSplitRows(t, k, newSweepSplitCase(r, n, sets, 0, 0, normal), r, rows, lead, shift)
							}
						}
					}
				}
			}
		}
	})
}

// checkSweepSplitRows runs kern's sweepSplit on rows rows over c's
// columns, leaving out lead entries and shift more a row, in one call and
// one call a row, and compares the two.
func checkSweepSplitRows(t *testing.T, kern *kernel, c *sweepSplitCase, r *rand.Rand, rows, lead, shift int) {
	t.Helper()
	n, sets := len(c.h), len(c.below)
	ldh, ldg := n+r.IntN(5), n+r.IntN(3)
	h, g := make([]float32, (rows+1)*ldh), make([]float32, (rows+1)*ldg)
	for i := range h {
		h[i] = float32(r.NormFloat64())
	}
	for i := range g {
		g[i] = float32(r.NormFloat64())
	}
	f := make([]float64, 2*(rows+1))
	for i := range f {
		f[i] = r.NormFloat64()
	}
	below := make([]int32, (rows+1)*sets)
	for i := range below {
		below[i] = int32(r.IntN(n + 2))
	}
	type run struct {
		colV, colW, cols, sums []float64
		s                      []sums
	}
	newRun := func() *run {
		u := &run{append([]float64(nil), c.colV...), append([]float64(nil), c.colW...), append([]float64(nil), c.cols...), make([]float64, (rows+1)*sets), make([]sums, rows+1)}
		for i := range u.sums {
			u.sums[i] = float64(i) + 0.5
		}
		for i := range u.s {
			u.s[i] = sums{float64(i), 1, 2, 3}
		}
		return u
	}
	all, each := newRun(), newRun()
	kern.sweepSplit(h[:n], g[:n], c.hd, c.gd, f[:2*rows], all.colV, all.colW, all.s[:rows], c.ranks, below[:sets], all.cols, c.stride, all.sums[:sets], ldh, ldg, lead, shift)
	for i := range rows {
		kern.sweepSplit(h[i*ldh:i*ldh+n], g[i*ldg:i*ldg+n], c.hd, c.gd, f[2*i:2*i+2], each.colV, each.colW, each.s[i:i+1], c.ranks,
			below[i*sets:(i+1)*sets], each.cols, c.stride, each.sums[i*sets:(i+1)*sets], 0, 0, lead+i*shift, 0)
	}
	for _, x := range [][2][]float64{{all.colV, each.colV}, {all.colW, each.colW}, {all.cols, each.cols}, {all.sums, each.sums}} {
		for j := range x[0] {
			if !sameFloat(x[0][j], x[1][j]) {
				t.Fatalf("%s n=%d sets=%d rows=%d lead=%d shift=%d: entry %d = %v in one call, %v a row at a time", kern.name, n, sets, rows, lead, shift, j, x[0][j], x[1][j])
			}
		}
	}
	for i := range all.s {
		if !sameSums(all.s[i], each.s[i]) {
			t.Fatalf("%s n=%d sets=%d rows=%d lead=%d shift=%d: s[%d] = %v in one call, %v a row at a time", kern.name, n, sets, rows, lead, shift, i, all.s[i], each.s[i])
		}
	}
}

// withSweepEach returns kern with sweepSplit made of its contractSplitRow
// and lowerSplitSets (sweepSplitEach), the fallback of a kernel table
// without one.
func withSweepEach(kern *kernel) *kernel {
	each := *kern
	each.name += "/each"
	each.sweepSplit = kern.sweepSplitEach
	return &each
}

func TestSweepSplitKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(67)
		normal := func() float32 { return float32(r.NormFloat64()) }
		for _, k := range []*kernel{kern, withSweepEach(kern)} {
			for sets := range 10 {
				for n := range 71 {
					checkSweepSplit(t, k, newSweepSplitCase(r, n, sets, 0.75, 1.5, normal), 0)
					if lead := min(n, sets+n%19); lead > 0 { // every lead mod a step, the row's end in its step or not
						c := newSweepSplitCase(r, n, sets, 0.75, 1.5, normal)
						leadSpecials(c, lead)
						checkSweepSplit(t, k, c, lead)
					}
				}
				checkSweepSplit(t, k, newSweepSplitCase(r, 1000, sets, -3, 0x1p-20, normal), 0)
			}
		}
	})
}

// TestSweepSplitKernelsNonFinite puts a NaN or an infinity into h, g or a
// diagonal at one entry of each row: every column and sum must get what
// the two fused kernels give it, whichever lane of a vector it is in.
func TestSweepSplitKernelsNonFinite(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(71)
		normal := func() float32 { return float32(r.NormFloat64()) }
		for n := 1; n <= 40; n++ {
			for j := range n {
				c := newSweepSplitCase(r, n, 1+j%9, 0.75, 1.5, normal)
				which := j % 3
				if which == 0 {
					putSpecial(c.h, c.g, j)
				} else {
					[][]float64{c.hd, c.gd}[which-1][j] = float64(splitSpecials[j%len(splitSpecials)])
				}
				checkSweepSplit(t, kern, c, 0)
			}
		}
	})
}

// FuzzSweepSplitKernel runs every kernel's sweepSplit against its
// contractSplit and lowerSplitSets on rows decoded from the input, with a
// NaN or infinity at one entry when special asks for it, then a call of
// 1 to 4 rows on the same columns against one call a row.
func FuzzSweepSplitKernel(f *testing.F) {
	fuzzSets(f, func(t *testing.T, kern *kernel, r *rand.Rand, rows, sets int, gen func() float32, special func(h []float32)) {
		fgh := [][2]float64{{0.75, 1.5}, {-3, 0x1p-20}, {0, 1e10}}[r.IntN(3)]
		c := newSweepSplitCase(r, rows, sets, fgh[0], fgh[1], gen)
		special(c.h)
		lead := 0
		if r.IntN(2) == 0 {
			lead = r.IntN(len(c.h) + 1)
		}
		checkSweepSplit(t, kern, c, lead)
		checkSweepSplitRows(t, kern, c, r, 1+r.IntN(4), r.IntN(20), r.IntN(3))
	})
}
