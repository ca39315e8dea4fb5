package chanprune

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The benchmarks' fractions (bench_test.go, kernel_bench_test.go; the
// README says how to read them). Each divides a benchmark's time per op by
// a limit measured on this machine, in the same process: the kernel's FMA
// peak (MeasurePeak) or the streaming-read bandwidth of a buffer the size
// of what the op reads (MeasureBandwidth), on every core. Each limit is
// measured the first time a benchmark needs it, with 200 ms windows, the
// best of 5. A shared machine can still slow a whole measurement (another
// tenant on the same cores): a rate above the limit proves the limit low,
// so it is measured again and the best kept before the fraction is
// reported. They are exported here, in a test file, for the external test
// package.

// MemoryBoundRows: a product of fewer rows than this does too few flops
// per weight byte for the cores to be the limit (each weight element
// serves fewer than 64 multiply-adds), so its benchmark reports
// bw-fraction rather than peak-fraction.
const MemoryBoundRows = 64

// limitWindow is the window of the limits' measurements.
const limitWindow = 200 * time.Millisecond

// limits holds the best measurement per key: a limitKey. A limit depends
// on how many cores measure it, so a run with -cpu 1,2 keeps one per
// GOMAXPROCS.
var limits struct {
	sync.Mutex
	best map[limitKey]float64
}

// limitKey names a limit: what is measured, on how many cores.
type limitKey struct {
	what  string
	procs int
}

// limit returns the limit named key, measuring it if it is unknown or
// below rate, the rate a benchmark just reached; at most once per call.
func limit(key limitKey, rate float64, measure func() (float64, error)) (float64, error) {
	limits.Lock()
	defer limits.Unlock()
	best, ok := limits.best[key]
	if ok && best >= rate {
		return best, nil
	}
	m, err := measure()
	if err != nil {
		return 0, err
	}
	if limits.best == nil {
		limits.best = map[limitKey]float64{}
	}
	limits.best[key] = max(best, m)
	return limits.best[key], nil
}

// benchPeak is the kernel's peak in GFLOP/s, at least gflops if the
// machine allows; 0 for a kernel without a peak loop (the generic one),
// whose benchmarks report no peak or floor fraction.
func benchPeak(kernel string, gflops float64) (float64, error) {
	if k, err := selectKernel(kernel); err == nil && k.peak == nil {
		return 0, nil
	}
	procs := runtime.GOMAXPROCS(0)
	return limit(limitKey{"peak/" + kernel, procs}, gflops, func() (float64, error) {
		return MeasurePeak(kernel, procs, limitWindow)
	})
}

// benchBandwidth is the bandwidth of a buffer of bytes in GB/s, at least
// gbps if the machine allows.
func benchBandwidth(bytes int, gbps float64) (float64, error) {
	procs := runtime.GOMAXPROCS(0)
	return limit(limitKey{fmt.Sprintf("bandwidth/%d", bytes), procs}, gbps, func() (float64, error) {
		return MeasureBandwidth(bytes, procs, limitWindow)
	})
}

// secondsPerOp stops the timer and returns the benchmark's time per op, so
// a limit measured afterwards stays out of ns/op.
func secondsPerOp(b *testing.B) float64 {
	b.StopTimer()
	return b.Elapsed().Seconds() / float64(b.N)
}

// ReportPeakFraction reports peak-fraction: the flops an op executes, per
// second, over the kernel's FMA peak. Only for benchmarks whose op executes
// every flop it counts.
func ReportPeakFraction(b *testing.B, kernel string, flopsPerOp float64) {
	reportOfPeak(b, kernel, flopsPerOp, "peak-fraction")
}

// ReportFloorFraction reports floor-fraction: the time the op's FLOP floor
// (the flops any implementation of its method must execute) takes at the
// kernel's peak, over the op's time. For methods that skip work the
// useful-work GFLOP/s counts, such as the Gram path.
func ReportFloorFraction(b *testing.B, kernel string, floorFlopsPerOp float64) {
	reportOfPeak(b, kernel, floorFlopsPerOp, "floor-fraction")
}

// reportOfPeak reports flopsPerOp per second over the kernel's peak as
// unit; nothing for a kernel without a peak loop.
func reportOfPeak(b *testing.B, kernel string, flopsPerOp float64, unit string) {
	gflops := flopsPerOp / secondsPerOp(b) / 1e9
	peak, err := benchPeak(kernel, gflops)
	if err != nil {
		b.Fatalf("peak of %s: %v", kernel, err)
	}
	if peak > 0 {
		b.ReportMetric(gflops/peak, unit)
	}
}

// ReportBandwidthFraction reports bw-fraction: the bytes an op must read
// (the weight, for a memory-bound product), per second, over the streaming
// bandwidth of a buffer that size.
func ReportBandwidthFraction(b *testing.B, bytesPerOp int) {
	gbps := float64(bytesPerOp) / secondsPerOp(b) / 1e9
	bw, err := benchBandwidth(bytesPerOp, gbps)
	if err != nil {
		b.Fatalf("bandwidth of %d bytes: %v", bytesPerOp, err)
	}
	b.ReportMetric(gbps/bw, "bw-fraction")
}

// PlannedMethod is the method e picks for pairs (score set, ratio) pairs
// of sets score sets over batches.
func PlannedMethod(e *Evaluator, batches [][]float32, pairs, sets int) Method {
	return e.plan(batches, pairs, sets, false)
}

// WeightBytes is the bytes of one weight in format f, for the benchmarks'
// bandwidth fractions.
func WeightBytes(f WeightFormat) int { return f.size() }
