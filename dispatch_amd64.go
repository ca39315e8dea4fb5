//go:build !purego && !noasm && gc

package chanprune

import "github.com/klauspost/cpuid/v2"

// isaFeatures maps the extensions avo names in kernel_amd64.s (and so in
// kernel_table_amd64.go) to the cpuid features dispatch checks for them.
var isaFeatures = map[string]cpuid.FeatureID{
	"AVX":     cpuid.AVX,
	"AVX2":    cpuid.AVX2,
	"F16C":    cpuid.F16C,
	"FMA3":    cpuid.FMA3,
	"AVX512F": cpuid.AVX512F,
	// avo names PREFETCHT0's extension MMX+, the integer and prefetch
	// instructions that came with SSE; cpuid sets its MMXEXT only from
	// AMD's leaf, so the check is for SSE, which every such CPU has.
	"MMX+": cpuid.SSE,
}
