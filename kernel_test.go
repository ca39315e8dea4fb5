package chanprune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	var names []string
	for _, k := range Kernels() {
		if k.Supported {
			names = append(names, k.Name)
		}
	}
	selected, err := DefaultKernel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("chanprune: kernels %v supported, %s selected\n", names, selected)
	os.Exit(m.Run())
}

// evalCase is one call of an evalFunc: packed operands and the true tile.
type evalCase struct {
	a, w, bias []float32
	idx        []int32
	nk, m      int
}

// newEvalCase draws a tile of k channels (out of in ≥ k rows of w, picked in
// random order) with values from gen.
func newEvalCase(r *rand.Rand, kern *kernel, in, k, nk, m int, gen func() float32) evalCase {
	c := evalCase{nk: nk, m: m,
		a: make([]float32, k*kern.mr), w: make([]float32, in*kern.nr), bias: make([]float32, kern.nr)}
	for _, x := range [][]float32{c.a, c.w, c.bias} {
		for i := range x {
			x[i] = gen()
		}
	}
	for _, ch := range r.Perm(in)[:k] {
		c.idx = append(c.idx, int32(ch))
	}
	return c
}

// bound returns the float64 truth of the tile's sums and how far a float32
// kernel may be from it: a float32 dot product of n terms errs by at most
// dotError(n, Σ|a||w|), and every sum moves by at most the first-order effect
// of those errors plus the float64 rounding.
func (c evalCase) bound(mr, nr int) (truth, tol sums) {
	k := len(c.idx)
	for i := range c.m {
		for j := range nr {
			var y1, d, absKept, absPruned float64
			for p, ch := range c.idx {
				v := float64(c.a[p*mr+i]) * float64(c.w[int(ch)*nr+j])
				if p < c.nk {
					y1 += v
					absKept += math.Abs(v)
				} else {
					d += v
					absPruned += math.Abs(v)
				}
			}
			y1 += float64(c.bias[j])
			y := y1 + d
			eK, eP := dotError(c.nk, absKept), dotError(k-c.nk, absPruned)
			eY := eK + eP
			terms := sums{d * d, y * y1, y * y, y1 * y1}
			errs := sums{
				2*math.Abs(d)*eP + eP*eP,
				math.Abs(y)*eK + math.Abs(y1)*eY + eK*eY,
				2*math.Abs(y)*eY + eY*eY,
				2*math.Abs(y1)*eK + eK*eK,
			}
			for s := range truth {
				truth[s] += terms[s]
				tol[s] += errs[s] + float64(2*c.m*nr)*0x1p-52*math.Abs(terms[s])
			}
		}
	}
	return truth, tol
}

// dotError bounds the error of a float32 dot product of n terms whose
// absolute products sum to abs: γ(n)·abs with γ(n) = n·u/(1−n·u) (Higham,
// Thm 3.1), plus, where products fall below the normal range, an absolute
// 2^-150 per operation (half the smallest subnormal), 2n operations.
func dotError(n int, abs float64) float64 {
	gamma := float64(n) * unitRoundoff / (1 - float64(n)*unitRoundoff)
	return gamma*abs + float64(2*n)*0x1p-150
}

// runEval calls eval on zeroed sums surrounded by guards, then once more on
// the result with a prefetch stream over w, which must double it exactly:
// the kernel adds its tile's sums, and a prefetch changes none of them.
func runEval(t *testing.T, eval evalFunc, c evalCase) sums {
	t.Helper()
	var buf [6]float64
	buf[0], buf[5] = -7, -7
	s := (*sums)(buf[1:5])
	eval(c.a, c.w, c.idx, c.nk, c.bias, c.m, s, nil, 0)
	got := *s
	eval(c.a, c.w, c.idx, c.nk, c.bias, c.m, s, c.w, 4*len(c.w)/max(1, len(c.idx)))
	if buf[0] != -7 || buf[5] != -7 {
		t.Fatalf("wrote outside the sums: %v", buf)
	}
	for i := range got {
		if s[i] != 2*got[i] {
			t.Fatalf("sum %d: %v after one call, %v after two: the kernel must add to s", i, got[i], s[i])
		}
	}
	return got
}

// tileShapes returns the (k, nk, m) to try for a kernel: K around the
// vector widths, splits with nothing kept or nothing pruned, every m.
func tileShapes(kern *kernel) (shapes [][3]int) {
	for _, k := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100} {
		for _, nk := range []int{0, k / 3, k} {
			for m := 0; m <= kern.mr; m++ {
				shapes = append(shapes, [3]int{k, nk, m})
			}
		}
	}
	return shapes
}

func TestEvalKernels(t *testing.T) {
	forEachTile(t, func(t *testing.T, kern *kernel) {
		r := newRand(10)
		normal := func() float32 { return float32(r.NormFloat64()) }
		twinKern := twinOf(kern)
		for _, sh := range tileShapes(kern) {
			k, nk, m := sh[0], sh[1], sh[2]
			c := newEvalCase(r, kern, k+3, k, nk, m, normal)
			truth, tol := c.bound(kern.mr, kern.nr)
			got, twin := runEval(t, kern.eval, c), runEval(t, twinKern.eval, c)
			for s := range got {
				if !within(got[s]-truth[s], tol[s]) || !within(got[s]-twin[s], 2*tol[s]) {
					t.Fatalf("k=%d nk=%d m=%d: sum %d = %v, twin %v, truth %v ± %v", k, nk, m, s, got[s], twin[s], truth[s], tol[s])
				}
			}
		}
	})
}

// gemmCase is one call of a gemmFunc or, with acc, of a gemmAccFunc.
type gemmCase struct {
	a, w, bias   []float32
	k, ldc, m, n int
	acc          bool      // call gemmAcc, which adds to c, rather than gemm
	c0           []float32 // with acc, the tile's values before the call (m×n, row-major)
}

// newGemmCase draws a call of kern's gemm, or with acc of its gemmAcc, with
// values from gen: a, w, then bias or the prefill c0.
func newGemmCase(kern *kernel, acc bool, k, m, n, ldc int, gen func() float32) gemmCase {
	c := gemmCase{k: k, m: m, n: n, ldc: ldc, acc: acc,
		a: make([]float32, k*kern.mr), w: make([]float32, k*kern.nr), bias: make([]float32, kern.nr)}
	if acc {
		c.bias, c.c0 = nil, make([]float32, m*n)
	}
	for _, x := range [][]float32{c.a, c.w, c.bias, c.c0} {
		for i := range x {
			x[i] = gen()
		}
	}
	return c
}

// runGemm calls kern's gemm (or gemmAcc) on a C of exactly the tile's extent
// followed by guards, all prefilled with a marker but for the tile of a
// gemmAcc, which holds c0, and fails if anything outside the m×n tile
// changed. It returns the tile.
func runGemm(t *testing.T, kern *kernel, c gemmCase) []float32 {
	t.Helper()
	const guard = 64
	end := 0
	if c.m > 0 && c.n > 0 {
		end = (c.m-1)*c.ldc + c.n
	}
	buf := make([]float32, end+guard)
	marker := float32(math.Float32frombits(0x7fc0dead))
	for i := range buf {
		buf[i] = marker
	}
	if c.acc {
		for i := range c.m {
			copy(buf[i*c.ldc:], c.c0[i*c.n:(i+1)*c.n])
		}
		kern.gemmAcc(c.a, c.w, c.k, buf[:end:end], c.ldc, c.m, c.n)
	} else {
		kern.gemm(c.a, c.w, c.k, c.bias, buf[:end:end], c.ldc, c.m, c.n)
	}
	for i, v := range buf {
		inTile := i < end && i%c.ldc < c.n
		if !inTile && math.Float32bits(v) != 0x7fc0dead {
			t.Fatalf("%s acc=%v k=%d m=%d n=%d ldc=%d: wrote c[%d] = %v outside the tile",
				kern.name, c.acc, c.k, c.m, c.n, c.ldc, i, v)
		}
	}
	return buf[:end]
}

func TestGemmKernels(t *testing.T)    { testGemmKernels(t, false) }
func TestGemmAccKernels(t *testing.T) { testGemmKernels(t, true) }

// testGemmKernels runs every gemm (or gemmAcc) kernel against its generic
// twin and the float64 truth over every m, n tail and K around the vector
// widths, k = 0 included; a gemmAcc's C is prefilled with known values,
// which the result must hold plus the product.
func testGemmKernels(t *testing.T, acc bool) {
	forEachTile(t, func(t *testing.T, kern *kernel) {
		r := newRand(11)
		gen := func() float32 { return float32((2*r.Float64() - 1) * 2) }
		twinKern := twinOf(kern)
		for _, k := range []int{0, 1, 3, 7, 8, 9, 16, 17, 64} {
			for m := 0; m <= kern.mr; m++ {
				for _, n := range []int{0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, kern.nr - 1, kern.nr} {
					if n > kern.nr {
						continue
					}
					c := newGemmCase(kern, acc, k, m, n, n+r.IntN(5), gen)
					got, twin := runGemm(t, kern, c), runGemm(t, twinKern, c)
					checkGemm(t, kern, c, got, twin)
				}
			}
		}
	})
}

// checkGemm holds each output to the float64 truth within the error of a
// dot product of k+1 terms, the bias (or for gemmAcc the prefill) being the
// last.
func checkGemm(t *testing.T, kern *kernel, c gemmCase, got, twin []float32) {
	t.Helper()
	for i := range c.m {
		for j := range c.n {
			var want float64
			if c.acc {
				want = float64(c.c0[i*c.n+j])
			} else {
				want = float64(c.bias[j])
			}
			abs := math.Abs(want)
			for p := range c.k {
				v := float64(c.a[p*kern.mr+i]) * float64(c.w[p*kern.nr+j])
				want += v
				abs += math.Abs(v)
			}
			tol := dotError(c.k+1, abs)
			g, tw := float64(got[i*c.ldc+j]), float64(twin[i*c.ldc+j])
			if !within(g-want, tol) || !within(g-tw, 2*tol) {
				t.Fatalf("%s acc=%v k=%d m=%d n=%d: c[%d,%d] = %v, twin %v, truth %v ± %v",
					kern.name, c.acc, c.k, c.m, c.n, i, j, g, tw, want, tol)
			}
		}
	}
}
