package chanprune

import (
	"fmt"
	"testing"
)

// spdMatrix returns an n×n symmetric positive definite matrix, row-major:
// entries uniform in [−1, 1] off the diagonal, n on it (diagonally
// dominant).
func spdMatrix(n int) []float64 {
	r := newRand(uint64(n))
	a := make([]float64, n*n)
	for i := range n {
		for j := range i {
			v := 2*r.Float64() - 1
			a[i*n+j], a[j*n+i] = v, v
		}
		a[i*n+i] = float64(n)
	}
	return a
}

// BenchmarkCholesky times a lstsq repair's Cholesky factor on one worker,
// so that it measures the kernel's dot4 (the factor's inner loop), not the
// scheduling: nN/KERNEL, Gfma/s counting the factor's n³/6 multiply-adds
// (each iteration also copies the n×n matrix, n² of work).
func BenchmarkCholesky(b *testing.B) {
	for _, n := range []int{256, 1024} {
		a := spdMatrix(n)
		l := make([]float64, n*n)
		ForEachKernelB(b, fmt.Sprintf("n%d", n), func(b *testing.B, k KernelInfo) {
			for b.Loop() {
				copy(l, a)
				if _, ok := cholesky(k.kernel, l, n, 1); !ok {
					b.Fatal("not positive definite")
				}
			}
			reportFMAs(b, float64(n)*float64(n)*float64(n)/6)
		})
	}
}

// BenchmarkCholSolve4 times the solve of four right-hand sides with a
// Cholesky factor (cholSolve4: dot4 forward, axpy4 back), as a lstsq
// repair solves four pruned channels at once: nN/KERNEL, Gfma/s counting
// n² multiply-adds per right-hand side. At n = 1024 the
// factor (8 MiB) is read from beyond the L2 cache of most cores.
func BenchmarkCholSolve4(b *testing.B) {
	for _, n := range []int{256, 1024} {
		l := spdMatrix(n)
		if _, ok := cholesky(genericKernel, l, n, 1); !ok {
			b.Fatal("not positive definite")
		}
		var z [4][]float64
		for q := range z {
			z[q] = make([]float64, n)
		}
		ForEachKernelB(b, fmt.Sprintf("n%d", n), func(b *testing.B, k KernelInfo) {
			var s [4]float64
			for b.Loop() {
				for q := range z {
					for i := range z[q] {
						z[q][i] = float64(q + 1)
					}
				}
				cholSolve4(k.kernel, l, n, z[0], z[1], z[2], z[3], &s)
			}
			reportFMAs(b, 4*float64(n)*float64(n))
		})
	}
}

// reportFMAs reports Gfma/s, billions of float64 multiply-adds a second,
// for fmas an iteration: not GFLOP/s, which the benchmarks keep for a
// layer's work (README, "Benchmarks").
func reportFMAs(b *testing.B, fmas float64) {
	b.ReportMetric(fmas*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gfma/s")
}
