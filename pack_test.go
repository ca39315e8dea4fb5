package chanprune

import (
	"math"
	"slices"
	"testing"
)

// TestPackActivations holds the packer to its definition: panel i, row p
// holds x[i·mr+r, perm[p]] for each r, zero past the last token; every tail
// of the panel and of the channels (not a multiple of four), channels in
// any order.
func TestPackActivations(t *testing.T) {
	r := newRand(19)
	for _, mr := range []int{4, 6, 8, 14} {
		for _, tokens := range []int{1, 3, mr, mr + 1, 3*mr - 1} {
			for _, depth := range []int{0, 1, 3, 4, 5, 8, 31} {
				in := depth + 2
				x := randBatches(r, in, tokens)[0]
				perm := make([]int32, depth)
				for p, c := range r.Perm(in)[:depth] {
					perm[p] = int32(c)
				}
				np := panels(tokens, mr)
				want, got := make([]float32, np*mr*depth), make([]float32, np*mr*depth)
				for i := range np {
					for p, c := range perm {
						for row := range mr {
							if tk := i*mr + row; tk < tokens {
								want[(i*depth+p)*mr+row] = x[tk*in+int(c)]
							}
						}
					}
				}
				for i := range got {
					got[i] = float32(math.NaN())
				}
				packActivations(got, x, in, mr, perm)
				if !slices.Equal(got, want) {
					t.Fatalf("mr=%d tokens=%d depth=%d: packed %v, want %v", mr, tokens, depth, got, want)
				}
			}
		}
	}
}
