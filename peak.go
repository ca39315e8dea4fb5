package chanprune

import (
	"fmt"
	"sync"
	"time"
)

// MeasurePeak measures the FMA throughput a kernel's instruction set
// reaches on this machine, in GFLOP/s over the given number of goroutines
// running for about d: independent register-only FMAs, the limit against
// which the other figures are read. It reports the best of five windows,
// since a peak is a maximum and a shared machine only ever lowers it. The
// generic kernel has no such loop.
func MeasurePeak(kernel string, workers int, d time.Duration) (float64, error) {
	k, err := selectKernel(kernel)
	if err != nil {
		return 0, err
	}
	if k.peak == nil {
		return 0, fmt.Errorf("kernel %q has no peak loop: %w", kernel, ErrKernel)
	}
	workers = max(workers, 1)
	const iters = 1 << 14
	var wg sync.WaitGroup
	best := 0.0
	for range 5 {
		start, rounds := time.Now(), 0
		for ; rounds == 0 || time.Since(start) < d/5; rounds++ {
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k.peak(iters)
				}()
			}
			wg.Wait()
		}
		flops := float64(k.peakFlops) * iters * float64(workers*rounds)
		best = max(best, flops/time.Since(start).Seconds()/1e9)
	}
	return best, nil
}
