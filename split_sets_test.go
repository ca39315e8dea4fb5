package chanprune

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Tests of lowerSplitSets (kernel.go) against lowerSplitGeneric set by
// set: columns bit for bit, as checkLowerSplit holds them, each set's sum
// as setSumOK holds it. The sets lie stride entries apart with a gap of
// guards between them, and ranks, cols and sums run splitGuards entries
// past the last set: a kernel that reads or writes past a set's row, or
// past len(below) sums, is caught as in split_test.go.

// setsGap is the number of guard entries between two sets' rows.
const setsGap = 2

// lowerSplitSetsCase is one call of a lowerSplitSetsFunc.
type lowerSplitSetsCase struct {
	h, g   []float32
	ranks  []int32
	below  []int32
	cols   []float64
	stride int
	sums   []float64
}

// setsStart is each set's sum before the call.
const setsStart = 0.25

// newLowerSplitSetsCase draws sets rows of n entries as newLowerSplitCase
// does, set t with below[t] = belows(t), laid out stride = n + gap apart;
// h and g are the first set's.
func newLowerSplitSetsCase(r *rand.Rand, n, gap, sets int, belows func(t int) int32, gen func() float32) *lowerSplitSetsCase {
	stride := n + gap
	size := max(0, sets-1)*stride + n + splitGuards
	c := &lowerSplitSetsCase{stride: stride, ranks: make([]int32, size), cols: make([]float64, size)}
	for j := range size {
		c.ranks[j] = []int32{-1, math.MaxInt32}[j%2]
		c.cols[j] = splitGuard
	}
	for t := range sets {
		one := newLowerSplitCase(r, n, belows(t), gen)
		if t == 0 {
			c.h, c.g = one.h, one.g
		}
		copy(c.ranks[t*stride:], one.rank[:n])
		copy(c.cols[t*stride:], one.col[:n])
		c.below = append(c.below, one.below)
	}
	if sets == 0 {
		one := newLowerSplitCase(r, n, 0, gen)
		c.h, c.g = one.h, one.g
	}
	c.sums = make([]float64, sets+splitGuards)
	for t := range c.sums {
		c.sums[t] = splitGuard
		if t < sets {
			c.sums[t] = setsStart
		}
	}
	return c
}

// setSumOK reports whether got, a set's sum after a lowerSplitSetsFunc
// added its row to start, is right, and returns the float64 sum of the
// row's side (rank < below) and the tolerance it was held to. The x86
// kernels form it as Σm over the whole row less the column side's sum, so
// the bound is 2(n+1)·2⁻⁵³·(Σ|m| + |start|) with Σ|m| over the whole row
// (each of the two sums within n·2⁻⁵³·Σ|m|, the difference and the add to
// start rounded once each), and a NaN or infinity on the column side may
// make the sum NaN; one on the row side must reach the sum.
func setSumOK(got, start float64, h, g []float32, rank []int32, below int32) (ok bool, want, tol float64) {
	var abs float64
	colSpecial := false
	for j, v := range h {
		m := float64(v * g[j])
		if rank[j] < below {
			want += m
		} else if !isFinite(m) {
			colSpecial = true
		}
		if isFinite(m) {
			abs += math.Abs(m)
		}
	}
	tol = 2 * float64(len(h)+1) * 0x1p-53 * (abs + math.Abs(start))
	ok = closeOrSame(got-start, want, tol) || colSpecial && math.IsNaN(got)
	return ok, want, tol
}

// checkLowerSplitSets runs kern's lowerSplitSets on c and holds each set
// to lowerSplitGeneric on its own row; every entry outside the sets' rows
// and sums must keep its guard.
func checkLowerSplitSets(t *testing.T, kern *kernel, c *lowerSplitSetsCase) {
	t.Helper()
	n, sets := len(c.h), len(c.below)
	got, twin := append([]float64(nil), c.cols...), append([]float64(nil), c.cols...)
	sums := append([]float64(nil), c.sums...)
	kern.lowerSplitSets(c.h, c.g, c.ranks, c.below, got, c.stride, sums)
	for s := range sets {
		at := s * c.stride
		rank := c.ranks[at : at+n]
		lowerSplitGeneric(c.h, c.g, rank, c.below[s], twin[at:at+n])
		if ok, want, tol := setSumOK(sums[s], setsStart, c.h, c.g, rank, c.below[s]); !ok {
			t.Fatalf("%s n=%d sets=%d: set %d below=%d: sum %v, want %v ± %v", kern.name, n, sets, s, c.below[s], sums[s]-setsStart, want, tol)
		}
	}
	for j := range got {
		if !sameFloat(got[j], twin[j]) {
			t.Fatalf("%s n=%d sets=%d: cols[%d] (set %d, entry %d) = %v (%#x), twin %v (%#x), rank %d",
				kern.name, n, sets, j, j/c.stride, j%c.stride, got[j], math.Float64bits(got[j]), twin[j], math.Float64bits(twin[j]), c.ranks[j])
		}
	}
	for s := sets; s < len(sums); s++ {
		if sums[s] != splitGuard {
			t.Fatalf("%s n=%d sets=%d: sums[%d] past the sets = %v", kern.name, n, sets, s, sums[s])
		}
	}
}

// setBelows are the below values the tests give their sets in turn.
func setBelows(n int) func(t int) int32 {
	vals := []int32{int32(n / 2), math.MinInt32, int32(n), -1, 0, int32(n - 1), math.MaxInt32, 1, int32(n / 3)}
	return func(t int) int32 { return vals[(t+n)%len(vals)] }
}

// withEach returns kern with lowerSplitSets made of its lowerSplit
// (lowerSplitEach), the fallback of a kernel table without one.
func withEach(kern *kernel) *kernel {
	each := *kern
	each.name += "/each"
	each.lowerSplitSets = kern.lowerSplitEach
	return &each
}

func TestLowerSplitSetsKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(59)
		normal := func() float32 { return float32(r.NormFloat64()) }
		for _, k := range []*kernel{kern, withEach(kern)} {
			for sets := range 10 {
				for n := range 71 {
					checkLowerSplitSets(t, k, newLowerSplitSetsCase(r, n, setsGap, sets, setBelows(n), normal))
				}
				checkLowerSplitSets(t, k, newLowerSplitSetsCase(r, 1000, setsGap, sets, setBelows(1000), normal))
			}
		}
	})
}

// TestLowerSplitSetsKernelsKeepSidesApart puts a NaN or an infinity in h
// or g at one entry of each row: in every set it must reach that set's
// side for the entry (its sum or its column) and no other column; on the
// column side it may also make the sum NaN (setSumOK).
func TestLowerSplitSetsKernelsKeepSidesApart(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(61)
		normal := func() float32 { return float32(r.NormFloat64()) }
		for n := 1; n <= 40; n++ {
			for j := range n {
				c := newLowerSplitSetsCase(r, n, setsGap, 1+j%9, setBelows(n), normal)
				putSpecial(c.h, c.g, j)
				checkLowerSplitSets(t, kern, c)
			}
		}
	})
}

// FuzzLowerSplitSetsKernel runs every kernel's lowerSplitSets against
// lowerSplitGeneric set by set on rows decoded from the input, with a NaN
// or infinity at one entry when special asks for it.
func FuzzLowerSplitSetsKernel(f *testing.F) {
	fuzzSets(f, func(t *testing.T, kern *kernel, r *rand.Rand, rows, sets int, gen func() float32, special func(h []float32)) {
		c := newLowerSplitSetsCase(r, rows, setsGap, sets, func(int) int32 { return int32(r.IntN(rows+3)) - 1 }, gen)
		special(c.h)
		checkLowerSplitSets(t, kern, c)
	})
}

// fuzzSets is the body of the score-set kernels' fuzz targets: for each
// input and kernel, run gets a row length and a number of sets decoded
// from it, a generator of its values, and special, which puts the NaN or
// infinity the input asks for, if any, into a row.
func fuzzSets(f *testing.F, run func(t *testing.T, kern *kernel, r *rand.Rand, rows, sets int, gen func() float32, special func(h []float32))) {
	for _, n := range []uint16{0, 1, 7, 8, 9, 16, 17, 33, 100} {
		f.Add(n, uint8(n%10), uint64(n), uint16(n), []byte{0x3f, 0x80, 0, 1, 0xbf, 0x7f, 0xff, 0xff})
	}
	f.Fuzz(func(t *testing.T, n uint16, sets uint8, seed uint64, special uint16, data []byte) {
		forEachKernel(t, func(t *testing.T, kern *kernel) {
			vals := &fuzzFloats{data: data}
			run(t, kern, newRand(seed), int(n)%700, int(sets)%20, vals.next, func(h []float32) {
				if len(h) > 0 && special%4 != 0 {
					h[int(special)%len(h)] = splitSpecials[special%4-1]
				}
			})
		})
	})
}
