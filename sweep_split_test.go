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
// kernels' tolerances; every slice runs past the row with guards, as in
// split_test.go and split_sets_test.go.

// sweepSplitCase is one call of a sweepSplitFunc: the sets' case and the
// contract part's diagonals and columns (splitGuards past the row).
type sweepSplitCase struct {
	*lowerSplitSetsCase
	hd, gd     []float32
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
	pad := func(x []float32) []float32 {
		return append(append(make([]float32, 0, size), x[:n]...), make([]float32, size-n)...)
	}
	colV = append(append([]float64(nil), c.colV[:n]...), make([]float64, size-n)...)
	colW = append(append([]float64(nil), c.colW[:n]...), make([]float64, size-n)...)
	kern.contractSplit(pad(c.h), pad(c.g), pad(c.hd), pad(c.gd), c.fg, c.fh, colV, colW, s)
	return colV[:n], colW[:n]
}

// checkSweepSplit runs kern's sweepSplit on c and holds it to kern's
// contractSplit (contractSplitRow and contractPadded) and lowerSplitSets.
func checkSweepSplit(t *testing.T, kern *kernel, c *sweepSplitCase) {
	t.Helper()
	n, sets := len(c.h), len(c.below)
	payload := math.Float64frombits(0x7ff8_0000_dead_beef)
	start := sums{0.5, math.Copysign(0, -1), 2, payload}
	got, twin, padded := start, start, start
	gotV, gotW := append([]float64(nil), c.colV...), append([]float64(nil), c.colW...)
	twinV, twinW := append([]float64(nil), c.colV...), append([]float64(nil), c.colW...)
	gotCols, twinCols := append([]float64(nil), c.cols...), append([]float64(nil), c.cols...)
	gotSums, twinSums := append([]float64(nil), c.sums...), append([]float64(nil), c.sums...)

	kern.sweepSplit(c.h, c.g, c.hd, c.gd, c.fg, c.fh, gotV, gotW, &got, c.ranks, c.below, gotCols, c.stride, gotSums)
	kern.contractSplitRow(c.h, c.g, c.hd, c.gd, c.fg, c.fh, twinV, twinW, &twin)
	_, padW := contractPadded(kern, c, &padded)
	kern.lowerSplitSets(c.h, c.g, c.ranks, c.below, twinCols, c.stride, twinSums)

	var abs [2]float64 // Σ|v|, Σ|w| for the sums' tolerance
	for j := range n {
		hv, gv := float64(c.h[j]), float64(c.g[j])
		abs[0] += math.Abs(hv * gv)
		abs[1] += math.Abs(c.fg*hv*hv*float64(c.gd[j])) + math.Abs(c.fh*gv*gv*float64(c.hd[j]))
	}
	for j := range gotV {
		if !sameFloat(gotV[j], twinV[j]) {
			t.Fatalf("%s n=%d sets=%d: colV[%d] = %v, twin %v", kern.name, n, sets, j, gotV[j], twinV[j])
		}
		if !sameFloat(gotW[j], twinW[j]) && (j >= n || !sameFloat(gotW[j], padW[j])) {
			t.Fatalf("%s n=%d sets=%d: colW[%d] = %v (%#x), contractSplitRow %v, contractSplit padded %v",
				kern.name, n, sets, j, gotW[j], math.Float64bits(gotW[j]), twinW[j], padW[min(j, n-1)])
		}
	}
	for j := range gotCols {
		if !sameFloat(gotCols[j], twinCols[j]) {
			t.Fatalf("%s n=%d sets=%d: cols[%d] (set %d, entry %d) = %v, lowerSplitSets %v",
				kern.name, n, sets, j, j/c.stride, j%c.stride, gotCols[j], twinCols[j])
		}
	}
	for k, i := range []int{0, 2} {
		// Both within checkContractSplit's bound of the truth.
		tol := 2 * (float64(n+8)*0x1p-53*abs[k] + 0x1p-50*math.Abs(start[i]))
		if !closeOrSame(got[i], twin[i], tol) {
			t.Fatalf("%s n=%d sets=%d: s[%d] = %v, contractSplitRow %v ± %v", kern.name, n, sets, i, got[i], twin[i], tol)
		}
	}
	for _, i := range []int{1, 3} {
		if math.Float64bits(got[i]) != math.Float64bits(start[i]) {
			t.Fatalf("%s n=%d sets=%d: s[%d] = %v, want it left at %v", kern.name, n, sets, i, got[i], start[i])
		}
	}
	for s := range gotSums {
		var m float64 // Σ|m| of the set's row, for checkLowerSplitSets' bound
		if s < sets {
			for j, v := range c.h {
				if c.ranks[s*c.stride+j] < c.below[s] {
					m += math.Abs(float64(v * c.g[j]))
				}
			}
		}
		tol := 2 * float64(n+1) * 0x1p-53 * (m + setsStart)
		if s >= sets && gotSums[s] != splitGuard || !closeOrSame(gotSums[s], twinSums[s], tol) {
			t.Fatalf("%s n=%d sets=%d: sums[%d] = %v, lowerSplitSets %v ± %v", kern.name, n, sets, s, gotSums[s], twinSums[s], tol)
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
					checkSweepSplit(t, k, newSweepSplitCase(r, n, sets, 0.75, 1.5, normal))
				}
				checkSweepSplit(t, k, newSweepSplitCase(r, 1000, sets, -3, 0x1p-20, normal))
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
					[][]float32{c.hd, c.gd}[which-1][j] = splitSpecials[j%len(splitSpecials)]
				}
				checkSweepSplit(t, kern, c)
			}
		}
	})
}

// FuzzSweepSplitKernel runs every kernel's sweepSplit against its
// contractSplit and lowerSplitSets on rows decoded from the input, with a
// NaN or infinity at one entry when special asks for it.
func FuzzSweepSplitKernel(f *testing.F) {
	fuzzSets(f, func(t *testing.T, kern *kernel, r *rand.Rand, rows, sets int, gen func() float32, special func(h []float32)) {
		fgh := [][2]float64{{0.75, 1.5}, {-3, 0x1p-20}, {0, 1e10}}[r.IntN(3)]
		c := newSweepSplitCase(r, rows, sets, fgh[0], fgh[1], gen)
		special(c.h)
		checkSweepSplit(t, kern, c)
	})
}
