//go:build (amd64 || arm64) && !purego && !noasm && gc

package chanprune

import "github.com/klauspost/cpuid/v2"

// A kernelSpec is one row of a generated kernel table
// (kernel_table_amd64.go from asm/, kernel_table_arm64.go from gen/): a
// kernel and the instruction-set extensions its functions require, spelled
// as the generators spell them (avo's "// Requires:" lines).
type kernelSpec struct {
	kernel   *kernel
	requires []string
}

// archKernels adds the kernel table's kernels, each supported when the CPU
// (and the OS, which cpuid checks for the wider registers) has every
// feature it requires. A row without a lowerSplitSets kernel (NEON's) gets
// one made of its lowerSplit (kernel.lowerSplitEach), one without
// sweepSplit one made of its contractSplitRow and lowerSplitSets
// (kernel.sweepSplitEach), one without packGram, columnSums or moveAdd the
// generic one.
func archKernels() []KernelInfo {
	infos := make([]KernelInfo, len(kernelTable))
	for i, s := range kernelTable {
		if s.kernel.lowerSplitSets == nil {
			s.kernel.lowerSplitSets = s.kernel.lowerSplitEach
		}
		if s.kernel.sweepSplit == nil {
			s.kernel.sweepSplit = s.kernel.sweepSplitEach
		}
		if s.kernel.packGram == nil {
			s.kernel.packGram = s.kernel.packGramGeneric
		}
		if s.kernel.columnSums == nil {
			s.kernel.columnSums = s.kernel.columnSumsGeneric
		}
		if s.kernel.moveAdd == nil {
			s.kernel.moveAdd = moveAddGeneric
		}
		infos[i] = KernelInfo{Name: s.kernel.name, Supported: supports(s.requires), kernel: s.kernel}
	}
	return infos
}

// supports reports whether the CPU has every extension named. A name
// isaFeatures lacks is one dispatch cannot check, so the kernel is left
// unused (and TestKernelTableFeatures fails).
func supports(requires []string) bool {
	ids := make([]cpuid.FeatureID, len(requires))
	for i, r := range requires {
		id, ok := isaFeatures[r]
		if !ok {
			return false
		}
		ids[i] = id
	}
	return cpuid.CPU.Supports(ids...)
}
