package chanprune

import (
	"slices"
	"testing"
)

// TestProduct holds the dense product to the float64 truth (checkForward)
// on channel subsets in random order, with the default K blocks and with
// small ones forced (kc) so that small layers take the blocked path too;
// one worker and three give the same bits.
func TestProduct(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(13)
		for _, sh := range [][4]int{{1, 1, 1, 0}, {7, 5, 3, 0}, {33, 17, 300, 0}, {128, 40, 65, 0},
			{1, 40, 33, 7}, {29, 50, 70, 16}, {15, 17, 65, 4}, {3, 9, 9, 1}, {40, 64, 100, 64},
			{413, 512, 40, 0}, {413, 512, 40, 128}} { // few outputs, many rows: pieces split the rows
			tokens, in, out, kc := sh[0], sh[1], sh[2], sh[3]
			l := randLayer(r, in, out, true)
			x := randBatches(r, in, tokens)[0]
			keep := r.Perm(in)[:in-in/4]
			channels := make([]int32, len(keep))
			w := make([]float32, 0, out*len(keep)) // [out, len(keep)]
			for i, c := range keep {
				channels[i] = int32(c)
			}
			for o := range out {
				for _, c := range keep {
					w = append(w, l.Weight[o*in+c])
				}
			}
			p := newProduct(kern, w, l.Bias, channels, in, out)
			if kc > 0 {
				p.kc = kc
			}
			c1, c3 := make([]float32, tokens*out), make([]float32, tokens*out)
			p.run(c1, x, 1)
			p.run(c3, x, 3)
			if !slices.Equal(c1, c3) {
				t.Fatalf("%v: one worker and three differ", sh)
			}
			checkForward(t, l, keep, x, c1)
		}
	})
}
