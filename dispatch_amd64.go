//go:build !purego && !noasm && gc

package chanprune

import "github.com/klauspost/cpuid/v2"

// The features each kernel family requires: exactly those of the
// "// Requires:" lines avo writes into kernel_amd64.s, which
// TestDispatchMatchesRequires holds this table to.
var amd64Requires = map[string][]cpuid.FeatureID{
	"avx2":   {cpuid.AVX, cpuid.FMA3},
	"avx512": {cpuid.AVX, cpuid.AVX512F},
}

// archKernels adds the AVX2+FMA and AVX-512 kernels, each supported when
// the CPU (and the OS, which cpuid checks for the wider registers) has
// every feature it requires.
func archKernels() []KernelInfo {
	ks := []*kernel{
		{name: "avx2", mr: 6, nr: 16, eval: evalAVX2_6x16, gemm: gemmAVX2_6x16, gemmAcc: gemmAccAVX2_6x16,
			lowerSum: lowerSumAVX2, readSum: readSumAVX2, peak: peakAVX2, peakFlops: 12 * 8 * 2, gramEntryMACs: 95, gramBatchMACs: 7e6},
		{name: "avx512", mr: 14, nr: 32, eval: evalAVX512_14x32, gemm: gemmAVX512_14x32, gemmAcc: gemmAccAVX512_14x32,
			lowerSum: lowerSumAVX512, readSum: readSumAVX512, peak: peakAVX512, peakFlops: 24 * 16 * 2, gramEntryMACs: 190, gramBatchMACs: 14e6},
	}
	infos := make([]KernelInfo, len(ks))
	for i, k := range ks {
		infos[i] = KernelInfo{Name: k.name, Supported: cpuid.CPU.Supports(amd64Requires[k.name]...), kernel: k}
	}
	return infos
}
