package chanprune

import (
	"fmt"
	"math"
	"sync"
)

// The lstsq solve, in float64: a Cholesky factor of S_KK + λI, then
// Cᵀ = S_PK·(S_KK + λI)⁻¹ one pruned channel at a time.

// ridgeSystem sets dst (grown as needed) to S_KK + λI (k×k, row-major),
// λ = damp·mean_{c∈K} S_cc, S_ij given by at, and returns it; a λ past
// float64's range is refused (no pivot would then be finite).
func ridgeSystem(dst []float64, at func(i, j int) float64, kept []int, damp float64) ([]float64, error) {
	k := len(kept)
	var trace float64
	for _, c := range kept {
		trace += at(c, c)
	}
	lambda := damp * trace / float64(k)
	if k > 0 && !isFinite(lambda) {
		return nil, fmt.Errorf("damp %v: λ = damp·mean S_cc overflows float64 (mean S_cc %g): %w", damp, trace/float64(k), ErrOption)
	}
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
	return a, nil
}

// cholesky overwrites the lower triangle of a (n×n, row-major, symmetric)
// with L, a = L·Lᵀ, on up to workers goroutines, its inner products on
// kern's dot4. A pivot that is not above n·ε of its diagonal entry means a
// is not (numerically) positive definite: it returns the row.
//
// Entry L_ij = (a_ij − L_i,:j·L_j,:j)/L_jj needs only row i left of j and
// row j, so the columns go in panels of cholPanel: one goroutine factors a
// panel's diagonal block, then the rows below take the panel's columns in
// parallel, four rows at a time against each row j (dot4), each row in the
// order of the unblocked algorithm, whose result it is bit for bit.
func cholesky(kern *kernel, a []float64, n, workers int) (row int, ok bool) {
	c := cholFactor{kern: kern}
	return c.factor(a, n, workers)
}

// cholFactor is cholesky's state, kept by a caller that factors often so
// that a factorisation allocates nothing.
type cholFactor struct {
	kern   *kernel
	a      []float64
	n, end int          // the panel just factored ends at column end
	dots   [][4]float64 // per slot, dot4's sums
	rows   job[cholFactor]
}

// factor is cholesky.
func (c *cholFactor) factor(a []float64, n, workers int) (row int, ok bool) {
	tol := float64(n) * 0x1p-52
	c.a, c.n = a, n
	defer func() { c.a = nil }()
	for len(c.dots) < workers {
		c.dots = append(c.dots, [4]float64{})
	}
	for j0 := 0; j0 < n; j0 += cholPanel {
		j1 := min(n, j0+cholPanel)
		for i := j0; i < j1; i++ {
			// Rows go in fours: the panel's columns left of the four on
			// dot4, then the four's own triangle row by row.
			from := j0
			if q := j0 + (i-j0)&^3; q+4 <= j1 {
				if i == q {
					c.fourRows(0, q, j0, q)
				}
				from = q
			}
			ri := a[i*n : i*n+i+1]
			choleskyRow(a, n, ri, from, i)
			s := ri[i] - dot64(ri[:i], ri[:i])
			if !(s > tol*ri[i]) || math.IsInf(s, 0) {
				return i, false
			}
			ri[i] = math.Sqrt(s)
		}
		c.end = j1
		if quads := (n - j1 + 3) / 4; quads > 0 {
			c.rows.do(quads, min(workers, quads), (*cholFactor).panelRows, c)
		}
	}
	return 0, true
}

// panelRows sets the entries of the panel just factored in rows
// end+4q … end+4q+3 (those there are): four at once where there are four.
func (c *cholFactor) panelRows(slot, q int) {
	n, j0 := c.n, max(0, c.end-cholPanel)
	i0, i1 := c.end+4*q, min(n, c.end+4*q+4)
	if i1-i0 < 4 {
		for i := i0; i < i1; i++ {
			choleskyRow(c.a, n, c.a[i*n:i*n+c.end], j0, c.end)
		}
		return
	}
	c.fourRows(slot, i0, j0, c.end)
}

// fourRows sets L_ij for j0 ≤ j < j1 in rows i0 … i0+3 (j1 ≤ i0: the rows
// j are final), four at once against each row j on dot4: the entries
// choleskyRow sets, bit for bit.
func (c *cholFactor) fourRows(slot, i0, j0, j1 int) {
	n, a := c.n, c.a
	r0, r1, r2, r3 := a[i0*n:i0*n+j1], a[(i0+1)*n:(i0+1)*n+j1], a[(i0+2)*n:(i0+2)*n+j1], a[(i0+3)*n:(i0+3)*n+j1]
	s := &c.dots[slot]
	for j := j0; j < j1; j++ {
		c.kern.dot4(a[j*n:j*n+j], r0[:j], r1[:j], r2[:j], r3[:j], s)
		d := a[j*n+j]
		r0[j], r1[j], r2[j], r3[j] = (r0[j]-s[0])/d, (r1[j]-s[1])/d, (r2[j]-s[2])/d, (r3[j]-s[3])/d
	}
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

// dot64 is the dot product of x and y (len(x) entries) in the order
// dot4Func states: eight partial sums of fused multiply-adds over whole
// blocks of 8, added pairwise, then the rest one by one. Every kernel's
// dot4 agrees with it bit for bit.
func dot64(x, y []float64) float64 {
	var p [8]float64
	n := len(x)
	y = y[:n]
	whole := n &^ 7
	for i := 0; i < whole; i += 8 {
		x8, y8 := x[i:i+8:i+8], y[i:i+8:i+8]
		for l := range 8 {
			p[l] = math.FMA(x8[l], y8[l], p[l])
		}
	}
	for l := range 4 {
		p[l] += p[l+4]
	}
	s := (p[0] + p[2]) + (p[1] + p[3])
	for i := whole; i < n; i++ {
		s = math.FMA(x[i], y[i], s)
	}
	return s
}

// dot4Generic is the reference dot4Func: dot64 four times.
func dot4Generic(a, b0, b1, b2, b3 []float64, s *[4]float64) {
	s[0], s[1], s[2], s[3] = dot64(a, b0), dot64(a, b1), dot64(a, b2), dot64(a, b3)
}

// axpy64 adds s·x to y (len(x) entries), each with one rounding.
func axpy64(s float64, x, y []float64) {
	y = y[:len(x)]
	for j, v := range x {
		y[j] = math.FMA(s, v, y[j])
	}
}

// axpy4Generic is the reference axpy4Func: axpy64 four times.
func axpy4Generic(x []float64, s *[4]float64, y0, y1, y2, y3 []float64) {
	axpy64(s[0], x, y0)
	axpy64(s[1], x, y1)
	axpy64(s[2], x, y2)
	axpy64(s[3], x, y3)
}

// cholSolve solves L·Lᵀ·z = z in place, L the factor cholesky left in l;
// the same arithmetic as cholSolve4 for each of its right-hand sides.
func cholSolve(l []float64, n int, z []float64) {
	z = z[:n]
	for i := range n {
		z[i] = (z[i] - dot64(l[i*n:i*n+i], z[:i])) / l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		z[i] /= l[i*n+i]
		axpy64(-z[i], l[i*n:i*n+i], z[:i])
	}
}

// cholSolve4 is cholSolve for four right-hand sides at once on kern's dot4
// and axpy4, s their scratch: each entry of L is loaded once for all four,
// where the solve of one reads all of L per right-hand side (from memory
// once L outgrows the cache).
func cholSolve4(kern *kernel, l []float64, n int, z0, z1, z2, z3 []float64, s *[4]float64) {
	z0, z1, z2, z3 = z0[:n], z1[:n], z2[:n], z3[:n]
	for i := range n {
		kern.dot4(l[i*n:i*n+i], z0[:i], z1[:i], z2[:i], z3[:i], s)
		d := l[i*n+i]
		z0[i], z1[i], z2[i], z3[i] = (z0[i]-s[0])/d, (z1[i]-s[1])/d, (z2[i]-s[2])/d, (z3[i]-s[3])/d
	}
	for i := n - 1; i >= 0; i-- {
		d := l[i*n+i]
		z0[i] /= d
		z1[i] /= d
		z2[i] /= d
		z3[i] /= d
		s[0], s[1], s[2], s[3] = -z0[i], -z1[i], -z2[i], -z3[i]
		kern.axpy4(l[i*n:i*n+i], s, z0[:i], z1[:i], z2[:i], z3[:i])
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
	if err := fit.overflowCheck(); err != nil {
		return fmt.Errorf("lstsq: %w", err)
	}
	s.fit, s.kept, s.pruned = fit, kept, pruned
	defer func() { s.fit = nil }()
	l, err := ridgeSystem(s.l, fit.scatterAt, kept, damp)
	if err != nil {
		return fmt.Errorf("lstsq: %w", err)
	}
	s.l = l
	s.chol.kern = fit.builder.kern
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
func (s *ridgeSolver) solveRows(slot, q int) {
	k, p := len(s.kept), len(s.pruned)
	j0, j1 := 4*q, min(p, 4*q+4)
	for j := j0; j < j1; j++ {
		z := s.ct[j*k : (j+1)*k]
		for a, c := range s.kept {
			z[a] = s.fit.scatterAt(s.pruned[j], c)
		}
	}
	cholSolveRows(s.chol.kern, s.l, k, s.ct[j0*k:j1*k], &s.chol.dots[slot])
}

// cholSolveRows solves each row of z (one to four rows of n, row-major) in
// place with the factor l: four at once on cholSolve4, fewer one by one,
// which is the same arithmetic; s is cholSolve4's scratch.
func cholSolveRows(kern *kernel, l []float64, n int, z []float64, s *[4]float64) {
	if len(z) == 4*n {
		cholSolve4(kern, l, n, z[:n], z[n:2*n], z[2*n:3*n], z[3*n:], s)
		return
	}
	for r := 0; r < len(z); r += n {
		cholSolve(l, n, z[r:r+n])
	}
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
