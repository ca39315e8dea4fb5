//go:build (!amd64 && !arm64) || purego || noasm || !gc

package chanprune

// archKernels: no assembly kernels in this build, only the generic ones.
func archKernels() []KernelInfo { return nil }
