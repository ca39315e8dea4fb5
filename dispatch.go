package chanprune

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// kernels lists every kernel built into this binary, generic first and the
// fastest last. archKernels, in the per-architecture dispatch files, adds
// the SIMD kernels with the CPU's verdict, read once at start-up.
var kernels = append([]KernelInfo{{Name: genericKernel.name, Supported: true, kernel: genericKernel}}, archKernels()...)

// KernelInfo describes one kernel built into this binary.
type KernelInfo struct {
	Name      string
	Supported bool // this CPU has every feature the kernel requires
	kernel    *kernel
}

// KernelEnv names the environment variable that overrides the kernel chosen
// at start-up, for example CHANPRUNE_KERNEL=generic.
const KernelEnv = "CHANPRUNE_KERNEL"

// Kernels lists the kernels built into this binary, generic first.
func Kernels() []KernelInfo { return slices.Clone(kernels) }

// DefaultKernel returns the kernel an Evaluator runs without WithKernel: the
// one CHANPRUNE_KERNEL names, or else the fastest this CPU supports. It fails
// if the variable names an unknown kernel or one the CPU cannot run.
func DefaultKernel() (string, error) {
	k, err := selectKernel("")
	if err != nil {
		return "", err
	}
	return k.name, nil
}

// selectKernel returns the named kernel; an empty name means the value of
// CHANPRUNE_KERNEL, or else the fastest kernel this CPU supports.
func selectKernel(name string) (*kernel, error) {
	if name == "" {
		name = os.Getenv(KernelEnv)
	}
	if name == "" {
		for _, k := range slices.Backward(kernels) {
			if k.Supported {
				return k.kernel, nil
			}
		}
	}
	var names []string
	for _, k := range kernels {
		if k.Name == name {
			if !k.Supported {
				return nil, fmt.Errorf("kernel %q: this CPU lacks the features it requires: %w", name, ErrKernel)
			}
			return k.kernel, nil
		}
		names = append(names, k.Name)
	}
	return nil, fmt.Errorf("kernel %q: not one of %s: %w", name, strings.Join(names, ", "), ErrKernel)
}
