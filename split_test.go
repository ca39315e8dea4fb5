package chanprune

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Tests of the sweep's split kernels, lowerSplit and contractSplit
// (kernel.go), against their generic references. Each column entry gets
// one float64 add of a value the contract defines exactly, so columns are
// compared bit for bit (NaN with NaN), except where the value's operation
// order may differ (contractSplit's w, see checkContractSplit); sums are
// held to the float64 truth within a reordering bound. Every slice runs
// past the row with guard values: a kernel that reads past len(h) picks
// them up, and one that writes past it changes them.

// splitGuards are the entries past len(h) in every slice of a case.
const splitGuards = 3

// splitGuard is the float64 guard value past a column's end.
const splitGuard = 12345.5

// lowerSplitCase is one call of a lowerSplitFunc: its slices run
// splitGuards entries past the row (h, g NaN; rank -1, so a read past the
// row would reach the row's sum, then MaxInt32, reaching col; col
// splitGuard).
type lowerSplitCase struct {
	h, g  []float32
	rank  []int32
	below int32
	col   []float64
}

// newLowerSplitCase draws a row of n entries of H and G from gen, ranks
// (a permutation, as a score set's, with some extremes of int32 in place)
// and a column with some negative zeros.
func newLowerSplitCase(r *rand.Rand, n int, below int32, gen func() float32) *lowerSplitCase {
	c := &lowerSplitCase{below: below}
	h, g := make([]float32, n+splitGuards), make([]float32, n+splitGuards)
	c.rank, c.col = make([]int32, n+splitGuards), make([]float64, n+splitGuards)
	for j, p := range r.Perm(n) {
		h[j], g[j] = gen(), gen()
		c.rank[j] = int32(p)
		switch r.IntN(16) {
		case 0:
			c.rank[j] = math.MinInt32
		case 1:
			c.rank[j] = math.MaxInt32
		}
		c.col[j] = r.NormFloat64()
		if r.IntN(8) == 0 {
			c.col[j] = math.Copysign(0, -1)
		}
	}
	for j := n; j < n+splitGuards; j++ {
		h[j], g[j] = float32(math.NaN()), float32(math.NaN())
		c.rank[j] = []int32{-1, math.MaxInt32}[j%2]
		c.col[j] = splitGuard
	}
	c.h, c.g = h[:n], g
	return c
}

// checkLowerSplit runs kern's lowerSplit and lowerSplitGeneric on c: the
// columns must agree bit for bit (and the guards stay), the sum must be
// the float64 sum of the row's products within n·2⁻⁵³·Σ|m| (a NaN or Inf
// in the row: the same NaN or Inf).
func checkLowerSplit(t *testing.T, kern *kernel, c *lowerSplitCase) {
	t.Helper()
	var want, abs float64
	for j, v := range c.h {
		if c.rank[j] < c.below {
			m := float64(v * c.g[j])
			want += m
			abs += math.Abs(m)
		}
	}
	got, twin := append([]float64(nil), c.col...), append([]float64(nil), c.col...)
	s := kern.lowerSplit(c.h, c.g, c.rank, c.below, got)
	lowerSplitGeneric(c.h, c.g, c.rank, c.below, twin)
	n := len(c.h)
	tol := float64(n) * 0x1p-53 * abs
	if !closeOrSame(s, want, tol) {
		t.Fatalf("%s n=%d below=%d: sum %v, want %v ± %v", kern.name, n, c.below, s, want, tol)
	}
	for j := range got {
		if !sameFloat(got[j], twin[j]) {
			t.Fatalf("%s n=%d below=%d: col[%d] = %v (%#x), twin %v (%#x), rank %d",
				kern.name, n, c.below, j, got[j], math.Float64bits(got[j]), twin[j], math.Float64bits(twin[j]), c.rank[j])
		}
	}
	for j := n; j < len(got); j++ {
		if got[j] != splitGuard {
			t.Fatalf("%s n=%d: col[%d] past the row = %v", kern.name, n, j, got[j])
		}
	}
}

// splitSpecials are the values that must stay on their side of a split.
var splitSpecials = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}

// putSpecial puts one of splitSpecials (by j) at entry j of h (even j) or
// of g (odd j).
func putSpecial(h, g []float32, j int) {
	v := splitSpecials[j%len(splitSpecials)]
	if j%2 == 0 {
		h[j] = v
	} else {
		g[j] = v
	}
}

// sameFloat reports whether a and b have the same bits, or are both NaN.
func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// within reports whether |x| ≤ tol: false for a NaN, which a check of
// |x| > tol would let through.
func within(x, tol float64) bool { return math.Abs(x) <= tol }

// closeOrSame reports whether got is within tol of want, or, where want is
// not finite, the same NaN or infinity.
func closeOrSame(got, want, tol float64) bool {
	if !isFinite(want) {
		return got == want || math.IsNaN(got) && math.IsNaN(want)
	}
	return math.Abs(got-want) <= tol
}

func TestLowerSplitKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(29)
		normal := func() float32 { return float32(r.NormFloat64()) }
		for n := range 71 {
			for _, below := range []int32{math.MinInt32, -1, 0, 1, int32(n / 2), int32(n - 1), int32(n), math.MaxInt32} {
				checkLowerSplit(t, kern, newLowerSplitCase(r, n, below, normal))
			}
		}
		for _, n := range []int{127, 128, 129, 1000} {
			checkLowerSplit(t, kern, newLowerSplitCase(r, n, int32(n/3), normal))
		}
	})
}

// TestLowerSplitKernelsKeepSidesApart puts a NaN or an infinity in h or g
// at one entry of each row: it must reach its own side (the row's sum or
// its column) and no other entry, whichever lane of a vector it is in.
func TestLowerSplitKernelsKeepSidesApart(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(31)
		normal := func() float32 { return float32(r.NormFloat64()) }
		for n := 1; n <= 70; n++ {
			for j := range n {
				c := newLowerSplitCase(r, n, int32(n/2), normal)
				putSpecial(c.h, c.g, j)
				checkLowerSplit(t, kern, c)
			}
		}
	})
}

// FuzzLowerSplitKernel runs every kernel's lowerSplit against the
// generic one and the float64 sum on rows decoded from the input, with a
// NaN or infinity at one entry when special asks for it.
func FuzzLowerSplitKernel(f *testing.F) {
	for _, n := range []uint16{0, 1, 7, 8, 9, 16, 17, 33, 100} {
		f.Add(n, int32(n/2), uint64(n), uint16(n), []byte{0x3f, 0x80, 0, 1, 0xbf, 0x7f, 0xff, 0xff})
	}
	f.Fuzz(func(t *testing.T, n uint16, below int32, seed uint64, special uint16, data []byte) {
		forEachKernel(t, func(t *testing.T, kern *kernel) {
			vals := &fuzzFloats{data: data}
			c := newLowerSplitCase(newRand(seed), int(n)%2000, below, vals.next)
			if len(c.h) > 0 && special%4 != 0 {
				c.h[int(special)%len(c.h)] = splitSpecials[special%4-1]
			}
			checkLowerSplit(t, kern, c)
		})
	})
}

// checkContractSplit runs kern's contractSplit and contractSplitGeneric
// on a row of h, g, hd, gd (longer than h by splitGuards) with columns
// drawn from r. s[0] and s[2] must be the float64 sums within the bound
// checkContract uses; s[1] and s[3] (a negative zero and a NaN with a
// payload) must keep their bits; colV bit for bit, since v = h·g is exact
// in float64 and takes one add.
//
// colW is held to a tolerance, not bits: the kernels form w = fg·h²·gd +
// fh·g²·hd as fg·((h·h)·gd), fused with fh·((g·g)·hd) (asm/contract.go),
// the generic one as Go evaluates it, ((fg·h)·h)·gd + ((fh·g)·g)·hd
// (fused or not, as the compiler does). Each part has three roundings in
// either order, at most 3·2⁻⁵³ of its magnitude, and the sum of the parts
// one more, so the two w differ by at most 8·2⁻⁵³·(|part₁| + |part₂|); the
// column's add rounds each result once more, 2⁻⁵³ of each. The bound
// below adds a ninth ulp for the second-order terms.
func checkContractSplit(t *testing.T, kern *kernel, r *rand.Rand, h, g []float32, hd, gd []float64, fg, fh float64) {
	t.Helper()
	n := len(h)
	colV, colW := make([]float64, n+splitGuards), make([]float64, n+splitGuards)
	for j := range colV {
		colV[j], colW[j] = splitGuard, splitGuard
		if j < n {
			colV[j], colW[j] = r.NormFloat64(), math.Abs(r.NormFloat64())
		}
	}
	gotV, gotW := append([]float64(nil), colV...), append([]float64(nil), colW...)
	twinV, twinW := append([]float64(nil), colV...), append([]float64(nil), colW...)
	payload := math.Float64frombits(0x7ff8_0000_dead_beef)
	start := sums{0.5, math.Copysign(0, -1), 2, payload}
	got, twin := start, start
	kern.contractSplit(h, g, hd, gd, fg, fh, gotV, gotW, &got)
	contractSplitGeneric(h, g, hd, gd, fg, fh, twinV, twinW, &twin)

	var want, abs [2]float64 // Σv, Σw and their magnitudes
	for j := range h {
		hv, gv := float64(h[j]), float64(g[j])
		v := hv * gv
		wg, wh := fg*hv*hv*gd[j], fh*gv*gv*hd[j]
		want[0] += v
		want[1] += wg + wh
		abs[0] += math.Abs(v)
		abs[1] += math.Abs(wg) + math.Abs(wh)

		if !sameFloat(gotV[j], twinV[j]) {
			t.Fatalf("%s n=%d: colV[%d] = %v, twin %v", kern.name, n, j, gotV[j], twinV[j])
		}
		tol := 9*0x1p-53*(math.Abs(wg)+math.Abs(wh)) + 0x1p-53*(math.Abs(gotW[j])+math.Abs(twinW[j]))
		if !closeOrSame(gotW[j], twinW[j], tol) {
			t.Fatalf("%s n=%d fg=%v fh=%v: colW[%d] = %v, twin %v ± %v", kern.name, n, fg, fh, j, gotW[j], twinW[j], tol)
		}
	}
	for j := n; j < n+splitGuards; j++ {
		if gotV[j] != splitGuard || gotW[j] != splitGuard {
			t.Fatalf("%s n=%d: colV[%d], colW[%d] past the row = %v, %v", kern.name, n, j, j, gotV[j], gotW[j])
		}
	}
	for k, i := range []int{0, 2} {
		tol := float64(n+8)*0x1p-53*abs[k] + 0x1p-50*math.Abs(start[i])
		for _, s := range []sums{got, twin} {
			if !closeOrSame(s[i]-start[i], want[k], tol) {
				t.Fatalf("%s n=%d: s[%d] = %v, twin %v, want %v ± %v", kern.name, n, i, got[i]-start[i], twin[i]-start[i], want[k], tol)
			}
		}
	}
	for _, i := range []int{1, 3} {
		if math.Float64bits(got[i]) != math.Float64bits(start[i]) {
			t.Fatalf("%s n=%d: s[%d] = %v (%#x), want it left at %v", kern.name, n, i, got[i], math.Float64bits(got[i]), start[i])
		}
	}
}

// splitRow draws a row of n entries (and splitGuards NaN past it) of H, G
// and positive diagonals (float32 values held as float64), from gen.
func splitRow(n int, gen func() float32) (h, g []float32, hd, gd []float64) {
	h, g, hd, gd = make([]float32, n+splitGuards), make([]float32, n+splitGuards), make([]float64, n+splitGuards), make([]float64, n+splitGuards)
	for j := range h {
		if j >= n {
			h[j], g[j], hd[j], gd[j] = float32(math.NaN()), float32(math.NaN()), math.NaN(), math.NaN()
			continue
		}
		h[j], g[j] = gen(), gen()
		hd[j], gd[j] = math.Abs(float64(gen())), math.Abs(float64(gen()))
	}
	return h[:n], g, hd, gd
}

func TestContractSplitKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(37)
		normal := func() float32 { return float32(r.NormFloat64()) }
		for n := 0; n <= 72; n += contractBlock {
			for _, f := range [][2]float64{{0.75, 1.5}, {-3, 0x1p-20}, {0, 1e10}} {
				h, g, hd, gd := splitRow(n, normal)
				checkContractSplit(t, kern, r, h, g, hd, gd, f[0], f[1])
			}
		}
		h, g, hd, gd := splitRow(1000, normal)
		checkContractSplit(t, kern, r, h, g, hd, gd, 0.75, 1.5)
	})
}

// TestContractSplitKernelsNonFinite puts a NaN or an infinity into h, g
// or a diagonal at each entry of a row in turn: it must reach that
// column's v or w and the sums, as the generic kernel's does, and no other
// column.
func TestContractSplitKernelsNonFinite(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(41)
		normal := func() float32 { return float32(r.NormFloat64()) }
		const n = 4 * contractBlock
		for j := range n {
			for which := range 4 {
				h, g, hd, gd := splitRow(n, normal)
				special := splitSpecials[(j+which)%len(splitSpecials)]
				if which < 2 {
					[][]float32{h, g}[which][j] = special
				} else {
					[][]float64{hd, gd}[which-2][j] = float64(special)
				}
				checkContractSplit(t, kern, r, h, g, hd, gd, 0.75, 1.5)
			}
		}
	})
}

// TestContractSplitRow covers kernel.contractSplitRow, which takes any
// length: whole blocks to the kernel, the rest to the generic one.
func TestContractSplitRow(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(43)
		normal := func() float32 { return float32(r.NormFloat64()) }
		split := *kern
		split.contractSplit = kern.contractSplitRow
		for n := range 71 {
			h, g, hd, gd := splitRow(n, normal)
			checkContractSplit(t, &split, r, h, g, hd, gd, 0.75, 1.5)
		}
	})
}

// FuzzContractSplitKernel runs every kernel's contractSplit against the
// generic one and the float64 sums on rows decoded from the input.
func FuzzContractSplitKernel(f *testing.F) {
	for _, n := range []uint16{0, 1, 2, 5, 13, 100} {
		f.Add(n, uint64(n), 0.5, 2.0, []byte{0x3f, 0x80, 0, 1, 0xbf, 0x7f, 0xff, 0xff})
	}
	f.Fuzz(func(t *testing.T, blocks uint16, seed uint64, fg, fh float64, data []byte) {
		// On the Gram path fg and fh are rounding factors times a
		// diagonal: within this range every product of float32 values
		// and one factor is a normal float64 in either order.
		for _, v := range []float64{fg, fh} {
			if a := math.Abs(v); !(a == 0 || a >= 0x1p-500 && a <= 0x1p500) {
				t.Skip("fg and fh are 0 or within 2^±500 on the Gram path")
			}
		}
		forEachKernel(t, func(t *testing.T, kern *kernel) {
			vals := &fuzzFloats{data: data}
			h, g, hd, gd := splitRow(int(blocks)%256*contractBlock, vals.next)
			checkContractSplit(t, kern, newRand(seed), h, g, hd, gd, fg, fh)
		})
	})
}
