package chanprune

import (
	"math"
	"testing"
)

// TestOBSMatchesBruteForceGreedy: obs's order is the greedy order that a
// brute force finds by solving, at every step and for every candidate, the
// refit of the remaining channels from scratch.
func TestOBSMatchesBruteForceGreedy(t *testing.T) {
	r := newRand(21)
	for _, sh := range [][2]int{{6, 4}, {9, 3}, {12, 10}} {
		in, out := sh[0], sh[1]
		l := randLayer(r, in, out, true)
		batches := randBatches(r, in, 30, 25)
		for _, x := range batches { // correlated channels, so refits matter
			for t := range len(x) / in {
				x[t*in+1] += 0.8 * x[t*in]
				x[t*in+in-1] = 0.5*x[t*in+2] - 0.3*x[t*in+3] + 0.1*x[t*in+in-1] + 2
			}
		}
		est, err := NewEstimator("obs", l, EstimatorOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range batches {
			if err := est.Observe(x, []int{len(x) / in, in}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := est.Scores()
		if err != nil {
			t.Fatal(err)
		}
		want := bruteForceOBS(l, batches, DefaultDamp)
		for c := range want {
			if got[c] != want[c] {
				t.Fatalf("%d→%d: obs positions %v, brute force %v", in, out, got, want)
			}
		}
	}
}

// bruteForceOBS returns each channel's position in the greedy order that
// minimises E(P) = min over V with V_P = 0 of tr((W−V)·A·(W−V)ᵀ), A the
// centred scatter plus λI, by solving each candidate's refit afresh.
func bruteForceOBS(l Linear, batches [][]float32, damp float64) []float32 {
	in, out := l.In, l.Out
	mean, n := make([]float64, in), 0
	for _, x := range batches {
		for t := range len(x) / in {
			for c := range in {
				mean[c] += float64(x[t*in+c])
			}
			n++
		}
	}
	for c := range mean {
		mean[c] /= float64(n)
	}
	a := make([][]float64, in)
	for i := range a {
		a[i] = make([]float64, in)
	}
	var trace float64
	for _, x := range batches {
		for t := range len(x) / in {
			for i := range in {
				for j := range in {
					a[i][j] += (float64(x[t*in+i]) - mean[i]) * (float64(x[t*in+j]) - mean[j])
				}
			}
		}
	}
	for i := range in {
		trace += a[i][i]
	}
	for i := range in {
		a[i][i] += damp * trace / float64(in)
	}
	energy := func(removed []bool) float64 {
		var kept []int
		for c, p := range removed {
			if !p {
				kept = append(kept, c)
			}
		}
		k := len(kept)
		var e float64
		for o := range out {
			w := l.Weight[o*in : (o+1)*in]
			for i := range in {
				for j := range in {
					e += float64(w[i]) * a[i][j] * float64(w[j])
				}
			}
			if k == 0 {
				continue
			}
			// g = A_{K,:}·wᵀ; e −= gᵀ·A_KK⁻¹·g.
			akk := make([][]float64, k)
			g := make([]float64, k)
			for p, ci := range kept {
				akk[p] = make([]float64, k)
				for q, cj := range kept {
					akk[p][q] = a[ci][cj]
				}
				for j := range in {
					g[p] += a[ci][j] * float64(w[j])
				}
			}
			for p, row := range invert64(akk) {
				for q, v := range row {
					e -= g[p] * v * g[q]
				}
			}
		}
		return e
	}
	removed := make([]bool, in)
	pos := make([]float32, in)
	for step := range in {
		q, best := -1, math.Inf(1)
		for c := range in {
			if removed[c] {
				continue
			}
			removed[c] = true
			if e := energy(removed); q < 0 || e < best {
				q, best = c, e
			}
			removed[c] = false
		}
		removed[q], pos[q] = true, float32(step)
	}
	return pos
}
