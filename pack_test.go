package chanprune

import (
	"math"
	"slices"
	"testing"
)

// TestPackActivations holds the packer to its definition: the row panels
// of the layout, full panels of mr rows then tail panels, each of height h
// starting at row r, hold x[r+i, perm[p]] at row p, column i, zero past the
// last token; every tail of the panels and of the channels (not a multiple
// of four), channels in any order.
func TestPackActivations(t *testing.T) {
	r := newRand(19)
	for _, sh := range [][2]int{{4, 0}, {6, 4}, {8, 0}, {14, 0}, {14, 8}, {14, 2}} {
		mr, tailMR := sh[0], sh[1]
		k := newGenericKernel("pack", mr, 8)
		if tailMR > 0 {
			k.tail = newGenericKernel("tail", tailMR, 8)
		}
		for _, tokens := range []int{1, 3, mr, mr + 1, 3*mr - 1, 128} {
			for _, depth := range []int{0, 1, 3, 4, 5, 8, 31} {
				in := depth + 2
				x := randBatches(r, in, tokens)[0]
				perm := make([]int32, depth)
				for p, c := range r.Perm(in)[:depth] {
					perm[p] = int32(c)
				}
				l := newRowLayout(k, tokens)
				want, got := make([]float32, l.rows()*depth), make([]float32, l.rows()*depth)
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
				for i := range got {
					got[i] = float32(math.NaN())
				}
				packActivations(got, x, in, l, perm)
				if !slices.Equal(got, want) {
					t.Fatalf("mr=%d tail %d tokens=%d depth=%d: packed %v, want %v", mr, tailMR, tokens, depth, got, want)
				}
			}
		}
	}
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
