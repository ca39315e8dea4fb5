//go:build !purego && !noasm && gc

package chanprune

import "github.com/klauspost/cpuid/v2"

// isaFeatures maps the extensions avo names in kernel_amd64.s (and so in
// kernel_table_amd64.go) to the cpuid features dispatch checks for them.
var isaFeatures = map[string]cpuid.FeatureID{
	"AVX":     cpuid.AVX,
	"FMA3":    cpuid.FMA3,
	"AVX512F": cpuid.AVX512F,
}
