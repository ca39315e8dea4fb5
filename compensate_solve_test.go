package chanprune

import (
	"math"
	"slices"
	"testing"
)

// TestCholSolve4MatchesCholSolve: on every kernel, the Cholesky factor
// (four rows at once on dot4) equals the unblocked one (choleskyRow, one
// row at a time) bit for bit, on a system whose factor spans several
// panels and a row count that leaves rows over after the fours; the
// four-at-once solve (dot4, axpy4) equals four single solves bit for bit
// and solves the system; and the solver gives the same Cᵀ with one worker
// and with three.
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
	ref := slices.Clone(a)
	for i := range n {
		ri := ref[i*n : i*n+i+1]
		choleskyRow(ref, n, ri, 0, i)
		ri[i] = math.Sqrt(ri[i] - dot64(ri[:i], ri[:i]))
	}
	var rhs [4][]float64
	for q := range rhs {
		for _, v := range uniform(r, n, 1) {
			rhs[q] = append(rhs[q], float64(v))
		}
	}
	forEachKernel(t, func(t *testing.T, k *kernel) {
		l := slices.Clone(a)
		if _, ok := cholesky(k, l, n, 3); !ok {
			t.Fatal("not positive definite")
		}
		for i := range n {
			for j := range i + 1 {
				if l[i*n+j] != ref[i*n+j] {
					t.Fatalf("L[%d,%d] = %v, unblocked %v", i, j, l[i*n+j], ref[i*n+j])
				}
			}
		}
		var one, four [4][]float64
		for q := range 4 {
			one[q], four[q] = slices.Clone(rhs[q]), slices.Clone(rhs[q])
			cholSolve(l, n, one[q])
		}
		var s [4]float64
		cholSolve4(k, l, n, four[0], four[1], four[2], four[3], &s)
		for q := range 4 {
			for i := range n {
				if four[q][i] != one[q][i] {
					t.Fatalf("right-hand side %d, entry %d: %v, one at a time %v", q, i, four[q][i], one[q][i])
				}
			}
			// A·z = b to the backward error of a Cholesky solve,
			// |b − A·z| ≤ γ(3n+1)·|L|·|Lᵀ|·|z|, plus the rounding of
			// forming A·z here, γ(n)·|A|·|z|.
			gamma := func(m int) float64 { u := float64(m) * 0x1p-53; return u / (1 - u) }
			lz := make([]float64, n) // |Lᵀ|·|z|
			for j := range n {
				for i := j; i < n; i++ {
					lz[j] += math.Abs(l[i*n+j] * four[q][i])
				}
			}
			for i := range n {
				var az, mag, llz float64
				for j := range n {
					az += a[i*n+j] * four[q][j]
					mag += math.Abs(a[i*n+j] * four[q][j])
				}
				for j := range i + 1 {
					llz += math.Abs(l[i*n+j]) * lz[j]
				}
				if d, bound := az-rhs[q][i], gamma(3*n+1)*llz+gamma(n)*(mag+math.Abs(rhs[q][i])); !within(d, bound) {
					t.Fatalf("right-hand side %d, row %d: |A·z − b| = %v, bound %v", q, i, math.Abs(d), bound)
				}
			}
		}
	})

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
