package chanprune

import (
	"fmt"
	"math"
	"sync"
)

// The lstsq solve, in float64: a Cholesky factor of S_KK + λI, then
// Cᵀ = S_PK·(S_KK + λI)⁻¹ one pruned channel at a time.

// ridgeSystem sets dst (grown as needed) to S_KK + λI (k×k, row-major),
// λ = damp·mean_{c∈K} S_cc, S_ij given by at, and returns it.
func ridgeSystem(dst []float64, at func(i, j int) float64, kept []int, damp float64) []float64 {
	k := len(kept)
	var trace float64
	for _, c := range kept {
		trace += at(c, c)
	}
	lambda := damp * trace / float64(k)
	if cap(dst) < k*k {
		dst = make([]float64, k*k)
	}
	a := dst[:k*k]
	for i, ci := range kept {
		for j, cj := range kept[:i+1] {
			a[i*k+j] = at(ci, cj)
		}
		a[i*k+i] += lambda
	}
	return a
}

// cholesky overwrites the lower triangle of a (n×n, row-major, symmetric)
// with L, a = L·Lᵀ, on up to workers goroutines. A pivot that is not above
// n·ε of its diagonal entry means a is not (numerically) positive
// definite: it returns the row.
//
// Entry L_ij = (a_ij − L_i,:j·L_j,:j)/L_jj needs only row i left of j and
// row j, so the columns go in panels of cholPanel: one goroutine factors a
// panel's diagonal block, then the rows below take the panel's columns in
// parallel, each row in the order of the unblocked algorithm, whose result
// it is bit for bit.
func cholesky(a []float64, n, workers int) (row int, ok bool) {
	var c cholFactor
	return c.factor(a, n, workers)
}

// cholFactor is cholesky's state, kept by a caller that factors often so
// that a factorisation allocates nothing.
type cholFactor struct {
	a      []float64
	n, end int // the panel just factored ends at column end
	rows   job[cholFactor]
}

// factor is cholesky.
func (c *cholFactor) factor(a []float64, n, workers int) (row int, ok bool) {
	tol := float64(n) * 0x1p-52
	c.a, c.n = a, n
	defer func() { c.a = nil }()
	for j0 := 0; j0 < n; j0 += cholPanel {
		j1 := min(n, j0+cholPanel)
		for i := j0; i < j1; i++ {
			ri := a[i*n : i*n+i+1]
			choleskyRow(a, n, ri, j0, i)
			s := ri[i] - dot64(ri[:i], ri[:i])
			if !(s > tol*ri[i]) || math.IsInf(s, 0) {
				return i, false
			}
			ri[i] = math.Sqrt(s)
		}
		c.end = j1
		if below := n - j1; below > 0 {
			c.rows.do(below, min(workers, below), (*cholFactor).panelRow, c)
		}
	}
	return 0, true
}

// panelRow sets the entries of the panel just factored in row end+r.
func (c *cholFactor) panelRow(_, r int) {
	i, n := c.end+r, c.n
	choleskyRow(c.a, n, c.a[i*n:i*n+c.end], max(0, c.end-cholPanel), c.end)
}

// cholPanel is the columns of a panel of cholesky.
const cholPanel = 64

// choleskyRow sets L_ij for j0 ≤ j < j1 in row ri (row i of a) from
// L_i,:j and the rows j, whose entries up to j are final.
func choleskyRow(a []float64, n int, ri []float64, j0, j1 int) {
	for j := j0; j < j1; j++ {
		ri[j] = (ri[j] - dot64(ri[:j], a[j*n:j*n+j])) / a[j*n+j]
	}
}

func dot64(x, y []float64) float64 {
	var s [4]float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		x4, y4 := x[i:i+4:i+4], y[i:i+4:i+4]
		s[0] += x4[0] * y4[0]
		s[1] += x4[1] * y4[1]
		s[2] += x4[2] * y4[2]
		s[3] += x4[3] * y4[3]
	}
	for ; i < len(x); i++ {
		s[0] += x[i] * y[i]
	}
	return sum4(s)
}

// cholSolve solves L·Lᵀ·z = z in place, L the factor cholesky left in l.
func cholSolve(l []float64, n int, z []float64) {
	for i := range n {
		z[i] = (z[i] - dot64(l[i*n:i*n+i], z[:i])) / l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		z[i] /= l[i*n+i]
		zi, row := z[i], l[i*n:i*n+i]
		for j, v := range row {
			z[j] -= v * zi
		}
	}
}

// cholSolve4 is cholSolve for four right-hand sides at once: each entry of
// L is loaded once for all four, where the solve of one reads all of L
// per right-hand side (from memory once L outgrows the cache).
func cholSolve4(l []float64, n int, z0, z1, z2, z3 []float64) {
	z0, z1, z2, z3 = z0[:n], z1[:n], z2[:n], z3[:n]
	for i := range n {
		row := l[i*n : i*n+i]
		a0, a1, a2, a3 := z0[:i], z1[:i], z2[:i], z3[:i]
		var s0, s1, s2, s3 float64
		for j, v := range row {
			s0 += v * a0[j]
			s1 += v * a1[j]
			s2 += v * a2[j]
			s3 += v * a3[j]
		}
		d := l[i*n+i]
		z0[i], z1[i], z2[i], z3[i] = (z0[i]-s0)/d, (z1[i]-s1)/d, (z2[i]-s2)/d, (z3[i]-s3)/d
	}
	for i := n - 1; i >= 0; i-- {
		d := l[i*n+i]
		z0[i] /= d
		z1[i] /= d
		z2[i] /= d
		z3[i] /= d
		x0, x1, x2, x3 := z0[i], z1[i], z2[i], z3[i]
		row := l[i*n : i*n+i]
		a0, a1, a2, a3 := z0[:i], z1[:i], z2[:i], z3[:i]
		for j, v := range row {
			a0[j] -= v * x0
			a1[j] -= v * x1
			a2[j] -= v * x2
			a3[j] -= v * x3
		}
	}
}

// A ridgeSolver forms Cᵀ = S_PK·(S_KK + λI)⁻¹ (p×k row-major: row j
// expresses pruned channel P_j through the kept ones), keeping its memory
// from one solve to the next.
type ridgeSolver struct {
	fit          *Fit
	kept, pruned []int
	l            []float64 // S_KK + λI, then its Cholesky factor
	ct           []float64
	chol         cholFactor
	rows         job[ridgeSolver]
}

// solve sets s.ct for the kept and pruned channels of fit.
func (s *ridgeSolver) solve(fit *Fit, kept, pruned []int, damp float64) error {
	k, p := len(kept), len(pruned)
	s.fit, s.kept, s.pruned = fit, kept, pruned
	defer func() { s.fit = nil }()
	s.l = ridgeSystem(s.l, fit.scatterAt, kept, damp)
	if row, ok := s.chol.factor(s.l, k, fit.workers); !ok {
		return fmt.Errorf("lstsq with damp %v: S_KK + λI is not positive definite at kept channel %d: %w",
			damp, kept[row], ErrNotPositiveDefinite)
	}
	if cap(s.ct) < p*k {
		s.ct = make([]float64, p*k)
	}
	s.ct = s.ct[:p*k]
	quads := (p + 3) / 4
	s.rows.do(quads, min(fit.workers, quads), (*ridgeSolver).solveRows, s)
	return nil
}

// solveRows sets rows 4q … 4q+3 of Cᵀ (those there are), four at once
// where there are four: the same rows for any number of workers.
func (s *ridgeSolver) solveRows(_, q int) {
	k, p := len(s.kept), len(s.pruned)
	j0, j1 := 4*q, min(p, 4*q+4)
	for j := j0; j < j1; j++ {
		z := s.ct[j*k : (j+1)*k]
		for a, c := range s.kept {
			z[a] = s.fit.scatterAt(s.pruned[j], c)
		}
	}
	if j1-j0 < 4 {
		for j := j0; j < j1; j++ {
			cholSolve(s.l, k, s.ct[j*k:(j+1)*k])
		}
		return
	}
	z := s.ct[j0*k : j1*k]
	cholSolve4(s.l, k, z[:k], z[k:2*k], z[2*k:3*k], z[3*k:])
}

// parallelRows calls fn(i) for every i < n, the rows split into contiguous
// runs over up to workers goroutines. Each row is independent, so the
// result does not depend on workers.
func parallelRows(n, workers int, fn func(i int)) {
	workers = max(1, min(workers, n))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * n / workers; i < (w+1)*n/workers; i++ {
				fn(i)
			}
		}()
	}
	wg.Wait()
}
