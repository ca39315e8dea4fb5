package chanprune

import "testing"

// forEachKernel runs f as a subtest named after each kernel built into this
// binary, generic first, and skips the kernels this CPU cannot run: `go test
// -v` lists every kernel a test covered and every one it could not.
func forEachKernel(t *testing.T, f func(t *testing.T, k *kernel)) {
	t.Helper()
	for _, k := range Kernels() {
		t.Run(k.Name, func(t *testing.T) {
			skipUnsupported(t, k)
			f(t, k.kernel)
		})
	}
}

// forEachTile is forEachKernel for the tile kernels (eval, gemm, gemmAcc):
// it also runs f on each kernel's tail kernel, as the subtest kernel/tail.
func forEachTile(t *testing.T, f func(t *testing.T, k *kernel)) {
	t.Helper()
	forEachKernel(t, func(t *testing.T, k *kernel) {
		f(t, k)
		if k.tail != nil {
			t.Run("tail", func(t *testing.T) { f(t, k.tail) })
		}
	})
}

// ForEachKernelB is forEachKernel for benchmarks: it runs f as the
// sub-benchmark prefix/kernel (just kernel for an empty prefix), the names
// benchstat files already hold. It is exported for bench_test.go, which is
// in package chanprune_test.
func ForEachKernelB(b *testing.B, prefix string, f func(b *testing.B, k KernelInfo)) {
	b.Helper()
	for _, k := range Kernels() {
		name := k.Name
		if prefix != "" {
			name = prefix + "/" + k.Name
		}
		b.Run(name, func(b *testing.B) {
			skipUnsupported(b, k)
			f(b, k)
		})
	}
}

// skipUnsupported skips tb when the CPU lacks a feature k requires.
func skipUnsupported(tb testing.TB, k KernelInfo) {
	tb.Helper()
	if !k.Supported {
		tb.Skipf("CPU lacks the features kernel %s requires", k.Name)
	}
}

// twinOf returns k's generic twin: the generic kernel of the same tile
// shape and 16-bit layout, which every SIMD kernel must match.
func twinOf(k *kernel) *kernel {
	t := newGenericKernel("twin", k.mr, k.nr)
	t.bf16Pairs = k.bf16Pairs
	return t
}
