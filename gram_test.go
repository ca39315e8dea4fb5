package chanprune

import (
	"math"
	"testing"
)

func TestGramBuilder(t *testing.T) {
	ks, _ := testedKernels()
	for _, kern := range ks {
		t.Run(kern.name, func(t *testing.T) {
			r := newRand(15)
			for _, sh := range [][2]int{{1, 1}, {3, 5}, {300, 17}, {40, 70}, {600, 33}, {256, 9}, {257, 9}} {
				rows, in := sh[0], sh[1]
				x := randBatches(r, in, rows)[0]
				g := make([]float32, in*in)
				gb := newGramBuilder(kern, in)
				colSum := make([]float64, in)
				gb.build(g, colSum, x, 3)
				full := make([]float32, in*in)
				if rows <= gramRows {
					gb.buildFull(full, nil, x, 2)
				}
				for c := range in {
					var want float64
					for t := range rows {
						want += float64(x[t*in+c])
					}
					if colSum[c] != want {
						t.Fatalf("%v: column sum %d = %v, want %v", sh, c, colSum[c], want)
					}
				}
				for i := range in {
					for j := i; j < in; j++ {
						if rows <= gramRows && (full[i*in+j] != g[i*in+j] || full[j*in+i] != g[i*in+j]) {
							t.Fatalf("%v: buildFull G[%d,%d] = %v, G[%d,%d] = %v; build gives %v", sh, i, j, full[i*in+j], j, i, full[j*in+i], g[i*in+j])
						}
						var want, abs float64
						for t := range rows {
							v := float64(x[t*in+i]) * float64(x[t*in+j])
							want += v
							abs += math.Abs(v)
						}
						// γ(gramRows) within each block, and the final rounding to float32.
						tol := dotError(min(rows, gramRows), abs) + unitRoundoff*math.Abs(want)
						if math.Abs(float64(g[i*in+j])-want) > tol {
							t.Fatalf("%v: G[%d,%d] = %v, want %v ± %v", sh, i, j, g[i*in+j], want, tol)
						}
					}
				}
			}
		})
	}
}
