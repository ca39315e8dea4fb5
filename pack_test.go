package chanprune

import (
	"math"
	"testing"
)

// checkPackActivations packs x (tokens rows of in) into the row panels of
// an mr-row tile with a tailMR-row tail (none for 0), using pack for the
// rows (nil: the Go loop), and holds the result to the definition bit for
// bit: the panel of height h at row r holds x[r+i, perm[p]] at row p,
// column i, zero past the last token, and nothing past the panels is
// written.
func checkPackActivations(t *testing.T, pack packRowsFunc, mr, tailMR int, x []float32, in int, perm []int32) {
	t.Helper()
	k := newGenericKernel("pack", mr, 8)
	k.packRows = pack
	if tailMR > 0 {
		k.tail = newGenericKernel("tail", tailMR, 8)
	}
	tokens, depth := len(x)/in, len(perm)
	l := newRowLayout(k, tokens)
	n := l.rows() * depth
	want := make([]float32, n+packGuard)
	row := 0
	for i := range l.count() {
		h := mr
		if i >= l.full {
			h = tailMR
		}
		for p, c := range perm {
			for j := range h {
				if tk := row + j; tk < tokens {
					want[row*depth+p*h+j] = x[tk*in+int(c)]
				}
			}
		}
		row += h
	}
	got := make([]float32, n+packGuard)
	for i := range got {
		got[i] = math.Float32frombits(packSentinel)
	}
	for i := n; i < len(want); i++ {
		want[i] = math.Float32frombits(packSentinel)
	}
	packActivations(got[:n], x, in, l, perm)
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("mr=%d tail %d tokens=%d in=%d depth=%d: entry %d of %d packed = %v, want %v",
				mr, tailMR, tokens, in, depth, i, n, got[i], want[i])
		}
	}
}

// packSentinel fills the packGuard floats past the panels: a NaN that no
// packing writes.
const packSentinel = 0x7fc0_1234

// TestPackActivations: each kernel's packing (the Go loop for generic,
// packRows where the table has it) against the definition, over every
// tail of the panels and of the channels (not a multiple of four or of
// eight rows), channels in any order, and −0, infinities and NaN copied
// bit for bit.
func TestPackActivations(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(19)
		for _, sh := range [][2]int{{4, 0}, {6, 4}, {8, 0}, {14, 0}, {14, 8}, {14, 2}, {16, 0}} {
			for _, tokens := range []int{1, 3, sh[0], sh[0] + 1, 3*sh[0] - 1, 128} {
				for _, depth := range []int{0, 1, 3, 4, 5, 8, 31, 200} {
					in := depth + 2
					x := randBatches(r, in, tokens)[0]
					for i := 0; i < len(x); i += 5 {
						x[i] = []float32{float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.NaN()), float32(math.Inf(-1))}[i/5%4]
					}
					perm := make([]int32, depth)
					for p, c := range r.Perm(in)[:depth] {
						perm[p] = int32(c)
					}
					checkPackActivations(t, kern.packRows, sh[0], sh[1], x, in, perm)
				}
			}
		}
	})
}

// FuzzPackActivations holds each kernel's packing to the definition on
// shapes, channel orders and values decoded from the input.
func FuzzPackActivations(f *testing.F) {
	for _, n := range []uint16{1, 7, 15, 128, 300} {
		f.Add(n, uint16(n%37+1), n%41, uint8(n%7), uint64(n), []byte{0x3f, 0xf0, 0, 1, 0xbf, 0x7f, 0xff, 0xff, 0x80})
	}
	shapes := [][2]int{{14, 8}, {6, 4}, {8, 0}, {16, 0}, {14, 0}, {4, 0}, {12, 0}}
	f.Fuzz(func(t *testing.T, tokens, in, depth uint16, shape uint8, seed uint64, data []byte) {
		sh := shapes[int(shape)%len(shapes)]
		nt, ni := int(tokens)%130+1, int(in)%300+1
		vals := &fuzzFloats{data: data}
		x := make([]float32, nt*ni)
		for i := range x {
			x[i] = math.Float32frombits(uint32(vals.bits(4))) // any bits: a copy
		}
		perm := make([]int32, int(depth)%(ni+1))
		for p, c := range newRand(seed).Perm(ni)[:len(perm)] {
			perm[p] = int32(c)
		}
		forEachKernel(t, func(t *testing.T, kern *kernel) {
			checkPackActivations(t, kern.packRows, sh[0], sh[1], x, ni, perm)
		})
	})
}

// TestRowLayout checks the row panels of a batch: they cover its rows in
// order, only the last is padded, never by more rows than whole mr panels
// would be, and a batch of 128 rows is laid out with no padding by the
// AVX-512 and AVX2 tiles (14 with an 8-row tail, 6 with a 4-row one) where
// whole panels of 14 pad it to 140.
func TestRowLayout(t *testing.T) {
	for _, sh := range [][2]int{{14, 8}, {6, 4}, {14, 0}, {4, 2}} {
		k := newGenericKernel("rows", sh[0], 8)
		if sh[1] > 0 {
			k.tail = newGenericKernel("tail", sh[1], 8)
		}
		for tokens := range 300 {
			l := newRowLayout(k, tokens)
			row := 0
			for i := range l.count() {
				kern, r := l.panel(i)
				if r != row || r >= tokens || (i >= l.full) != (kern != k) {
					t.Fatalf("%v tokens=%d: panel %d (%d rows) at row %d, want row %d below %d", sh, tokens, i, kern.mr, r, row, tokens)
				}
				row += kern.mr
			}
			if row != l.rows() || row < tokens || row > panels(tokens, k.mr)*k.mr {
				t.Fatalf("%v tokens=%d: panels hold %d rows (rows() %d), want %d to %d", sh, tokens, row, l.rows(), tokens, panels(tokens, k.mr)*k.mr)
			}
		}
		if l := newRowLayout(k, 128); sh[1] > 0 && l.rows() != 128 {
			t.Errorf("%v: 128 tokens laid out in %d rows (%d full panels, %d tails), want 128", sh, l.rows(), l.full, l.tails)
		}
	}
}
