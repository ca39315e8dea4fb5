//go:build !purego && !noasm && gc

package chanprune

import "github.com/klauspost/cpuid/v2"

// isaFeatures maps the extensions gen/ names in kernel_table_arm64.go to
// the cpuid features dispatch checks for them. ASIMD is mandatory on
// arm64, but the check goes through cpuid like every other path.
var isaFeatures = map[string]cpuid.FeatureID{"ASIMD": cpuid.ASIMD}
