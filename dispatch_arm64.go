//go:build !purego && !noasm && gc

package chanprune

import "github.com/klauspost/cpuid/v2"

// archKernels adds the NEON kernels; ASIMD is mandatory on arm64, but the
// check goes through cpuid like every other path.
func archKernels() []KernelInfo {
	return []KernelInfo{{Name: "neon", Supported: cpuid.CPU.Supports(cpuid.ASIMD), kernel: &kernel{
		name: "neon", mr: 8, nr: 12,
		eval: evalNEON_8x12, gemm: gemmNEON_8x12, gemmAcc: gemmAccNEON_8x12, lowerSum: lowerSumNEON, readSum: readSumNEON,
		peak: peakNEON, peakFlops: 192, // 24 fmla by element × 4 lanes × 2
		// Estimated from the 4-lane width (half of AVX2's): not measured on hardware.
		gramEntryMACs: 50, gramBatchMACs: 4e6,
	}}}
}
