package chanprune

import (
	"fmt"
	"time"
)

// peakCall is the iterations of one call of a peak loop in a measurement:
// a few microseconds, short against any window.
const peakCall = 1 << 12

// MeasurePeak measures the FMA throughput a kernel's instruction set
// reaches on this machine, in GFLOP/s over the given number of workers (1
// to 4096 goroutines locked to OS threads): independent register-only
// FMAs, the limit against which the other figures are read. Each worker
// runs the loop without pause for a warm-up of half a window and then 5
// windows of d, and the best window is reported, so a call takes about
// 5.5·d; d must be positive. The generic kernel has no such loop.
//
// The package does not call it: it is exported for benchmarks and tools
// that report their rates as fractions of the peak (the benchmarks'
// peak-fraction).
func MeasurePeak(kernel string, workers int, d time.Duration) (float64, error) {
	k, err := selectKernel(kernel)
	if err != nil {
		return 0, err
	}
	if k.peak == nil {
		return 0, fmt.Errorf("kernel %q has no peak loop: %w", kernel, ErrKernel)
	}
	if err := checkMeasure(workers, d); err != nil {
		return 0, fmt.Errorf("MeasurePeak: %w", err)
	}
	calls := bestRate(workers, d, func(int) { k.peak(peakCall) })
	return calls * float64(k.peakFlops*peakCall) / 1e9, nil
}
