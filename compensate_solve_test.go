package chanprune

import (
	"math"
	"testing"
)

// TestCholSolve4MatchesCholSolve: the four-at-once solve of the lstsq
// coefficients (ridgeSolver) agrees with four single solves to rounding,
// on a system whose factor spans several Cholesky panels, and the solver
// gives the same Cᵀ with one worker and with three.
func TestCholSolve4MatchesCholSolve(t *testing.T) {
	r := newRand(155)
	const n = 150
	b := uniform(r, n*n, 1)
	a := make([]float64, n*n)
	for i := range n {
		for j := range n {
			var s float64
			for k := range n {
				s += float64(b[i*n+k]) * float64(b[j*n+k])
			}
			a[i*n+j] = s
		}
		a[i*n+i] += 1
	}
	if _, ok := cholesky(a, n, 2); !ok {
		t.Fatal("not positive definite")
	}
	var one, four [4][]float64
	for q := range 4 {
		rhs := uniform(r, n, 1)
		one[q], four[q] = make([]float64, n), make([]float64, n)
		for i, v := range rhs {
			one[q][i], four[q][i] = float64(v), float64(v)
		}
		cholSolve(a, n, one[q])
	}
	cholSolve4(a, n, four[0], four[1], four[2], four[3])
	for q := range 4 {
		for i := range n {
			if d := math.Abs(four[q][i] - one[q][i]); d > 1e-12*(1+math.Abs(one[q][i])) {
				t.Fatalf("right-hand side %d, entry %d: %v, one at a time %v", q, i, four[q][i], one[q][i])
			}
		}
	}

	x := randBatches(r, 40, 300)[0]
	kept, pruned := []int{}, []int{}
	for c := range 40 {
		if c%3 == 0 {
			pruned = append(pruned, c)
		} else {
			kept = append(kept, c)
		}
	}
	var cts [][]float64
	for _, workers := range []int{1, 3} {
		kern, err := selectKernel("")
		if err != nil {
			t.Fatal(err)
		}
		fit := newFit(kern, 40, workers, true)
		if err := fit.Observe(x); err != nil {
			t.Fatal(err)
		}
		var s ridgeSolver
		if err := s.solve(fit, kept, pruned, DefaultDamp); err != nil {
			t.Fatal(err)
		}
		cts = append(cts, s.ct)
	}
	for i := range cts[0] {
		if cts[0][i] != cts[1][i] {
			t.Fatalf("Cᵀ entry %d: %v with one worker, %v with three", i, cts[0][i], cts[1][i])
		}
	}
}
