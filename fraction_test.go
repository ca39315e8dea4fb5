package chanprune

import (
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
// measured once per process, the first time a benchmark needs it, with
// 200 ms windows, the best of 5, so it is the machine's real limit and no
// fraction can exceed 1 by a bad measurement of it. They are exported
// here, in a test file, for the external test package.

// MemoryBoundRows: a product of fewer rows than this does too few flops
// per weight byte for the cores to be the limit (each weight element
// serves fewer than 64 multiply-adds), so its benchmark reports
// bw-fraction rather than peak-fraction.
const MemoryBoundRows = 64

// limitWindow is the window of the limits' measurements.
const limitWindow = 200 * time.Millisecond

// limits caches one measurement per key: "peak/<kernel>" or the buffer size.
var limits sync.Map // any → func() (float64, error)

func cachedLimit(key any, measure func() (float64, error)) (float64, error) {
	f, _ := limits.LoadOrStore(key, sync.OnceValues(measure))
	return f.(func() (float64, error))()
}

// benchPeak is the kernel's peak; 0 for a kernel without a peak loop (the
// generic one), whose benchmarks report no peak or floor fraction.
func benchPeak(kernel string) (float64, error) {
	if k, err := selectKernel(kernel); err == nil && k.peak == nil {
		return 0, nil
	}
	return cachedLimit("peak/"+kernel, func() (float64, error) {
		return MeasurePeak(kernel, runtime.GOMAXPROCS(0), limitWindow)
	})
}

func benchBandwidth(bytes int) (float64, error) {
	return cachedLimit(bytes, func() (float64, error) {
		return MeasureBandwidth(bytes, runtime.GOMAXPROCS(0), limitWindow)
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
	s := secondsPerOp(b)
	peak, err := benchPeak(kernel)
	if err != nil {
		b.Fatalf("peak of %s: %v", kernel, err)
	}
	if peak > 0 {
		b.ReportMetric(flopsPerOp/s/1e9/peak, "peak-fraction")
	}
}

// ReportFloorFraction reports floor-fraction: the time the op's FLOP floor
// (the flops any implementation of its method must execute) takes at the
// kernel's peak, over the op's time. For methods that skip work the
// useful-work GFLOP/s counts, such as the Gram path.
func ReportFloorFraction(b *testing.B, kernel string, floorFlopsPerOp float64) {
	s := secondsPerOp(b)
	peak, err := benchPeak(kernel)
	if err != nil {
		b.Fatalf("peak of %s: %v", kernel, err)
	}
	if peak > 0 {
		b.ReportMetric(floorFlopsPerOp/(peak*1e9)/s, "floor-fraction")
	}
}

// ReportBandwidthFraction reports bw-fraction: the bytes an op must read
// (the weight, for a memory-bound product), per second, over the streaming
// bandwidth of a buffer that size.
func ReportBandwidthFraction(b *testing.B, bytesPerOp int) {
	s := secondsPerOp(b)
	bw, err := benchBandwidth(bytesPerOp)
	if err != nil {
		b.Fatalf("bandwidth of %d bytes: %v", bytesPerOp, err)
	}
	b.ReportMetric(float64(bytesPerOp)/s/1e9/bw, "bw-fraction")
}

// PlannedMethod is the method e picks for evals evaluations over batches.
func PlannedMethod(e *Evaluator, batches [][]float32, evals int) Method {
	return e.plan(batches, evals, false)
}
