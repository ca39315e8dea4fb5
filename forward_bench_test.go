package chanprune_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/seed"
)

// forwardShapes are the [in, out] of the layers BenchmarkForward serves:
// the up- and down-projections of MiniLM-class (384, 512 wide), BERT-base
// (768) and 1024-wide models.
var forwardShapes = [][2]int{
	{384, 1536}, {1536, 384}, {512, 1536}, {1536, 512},
	{768, 3072}, {3072, 768}, {1024, 4096}, {4096, 1024},
}

// forwardVariants are the pruning ratios BenchmarkForward serves, by name.
var forwardVariants = []struct {
	name  string
	ratio float64
}{{"dense", 0}, {"pruned0.2", 0.2}, {"pruned0.5", 0.5}}

// forwardFormats are the weight formats, by the suffix of the variant name.
var forwardFormats = []struct {
	suffix string
	format chanprune.WeightFormat
}{{"", chanprune.Float32}, {"-bf16", chanprune.BFloat16}, {"-fp16", chanprune.Float16}}

// BenchmarkForward times the serving path: one Forward of T full-width
// rows through the dense layer and its pruned forms (the kept channels
// gathered on the fly), with the weight in float32, bfloat16 and float16,
// for each kernel: Forward/<in>x<out>/T<T>/<dense|pruned0.2|pruned0.5>[-bf16|-fp16]/<kernel>.
// GFLOP/s counts 2·T·kept·out, which the product executes. At T1 and T8 the
// op is bound by reading the weight (its format's bytes × kept·out), so it
// reports bw-fraction against the streaming bandwidth of a buffer that
// size; at T128 it reports peak-fraction.
func BenchmarkForward(b *testing.B) {
	for _, sh := range forwardShapes {
		in, out := sh[0], sh[1]
		ex := seed.New(in, out, 1, 128, 5)
		layer := chanprune.Linear{Weight: ex.Weight, Bias: ex.Bias, In: in, Out: out}
		scores := ex.RandomScores(1)
		for _, tokens := range []int{1, 8, 128} {
			x := ex.Batches[0][:tokens*in]
			for _, variant := range forwardVariants {
				for _, f := range forwardFormats {
					name := fmt.Sprintf("%dx%d/T%d/%s%s", in, out, tokens, variant.name, f.suffix)
					chanprune.ForEachKernelB(b, name, func(b *testing.B, kern chanprune.KernelInfo) {
						l, err := chanprune.CompactByScores(layer, scores, variant.ratio,
							chanprune.WithKernel(kern.Name), chanprune.WithWeightFormat(f.format))
						if err != nil {
							b.Fatal(err)
						}
						y := make([]float32, tokens*out)
						b.ReportAllocs()
						for b.Loop() {
							if err := l.Forward(y, x); err != nil {
								b.Fatal(err)
							}
						}
						flops := 2 * float64(tokens*len(l.Kept())*out)
						b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
						if tokens < chanprune.MemoryBoundRows {
							chanprune.ReportBandwidthFraction(b, chanprune.WeightBytes(f.format)*len(l.Kept())*out)
						} else {
							chanprune.ReportPeakFraction(b, kern.Name, flops)
						}
					})
				}
			}
		}
	}
}

// forwardCallers is the number of goroutines BenchmarkForwardParallel calls
// one Layer from.
const forwardCallers = 8

// BenchmarkForwardParallel times T1 and T8 calls of 1024x4096 from 8
// goroutines at once on one Layer, each call as Forward makes it by default
// (workersmax: a call shares its pieces with the idle pool workers, within
// its share of GOMAXPROCS, which 8 callers on fewer cores leave at one) and
// with WithWorkers(1) (workers1: each call on its own goroutine alone). It
// reports the latency of one call, p50-us and p99-us, over all the calls
// of the run, and calls/s. Each caller yields between calls, as a handler
// waiting for its next request does.
func BenchmarkForwardParallel(b *testing.B) {
	const in, out = 1024, 4096
	ex := seed.New(in, out, 1, 8, 5)
	layer := chanprune.Linear{Weight: ex.Weight, Bias: ex.Bias, In: in, Out: out}
	scores := ex.RandomScores(1)
	for _, tokens := range []int{1, 8} {
		x := ex.Batches[0][:tokens*in]
		for _, variant := range forwardVariants[:2] {
			for _, f := range forwardFormats[:2] {
				for _, workers := range []int{0, 1} {
					wname := "workersmax"
					if workers > 0 {
						wname = fmt.Sprintf("workers%d", workers)
					}
					name := fmt.Sprintf("%dx%d/T%d/%s%s/%s", in, out, tokens, variant.name, f.suffix, wname)
					chanprune.ForEachKernelB(b, name, func(b *testing.B, kern chanprune.KernelInfo) {
						l, err := chanprune.CompactByScores(layer, scores, variant.ratio, chanprune.WithKernel(kern.Name),
							chanprune.WithWeightFormat(f.format), chanprune.WithWorkers(workers))
						if err != nil {
							b.Fatal(err)
						}
						benchCallers(b, l, x, tokens)
					})
				}
			}
		}
	}
}

// benchCallers runs b.N Forward calls of l on x from forwardCallers
// goroutines and reports their latencies' median and 99th percentile.
func benchCallers(b *testing.B, l *chanprune.Layer, x []float32, tokens int) {
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	for range forwardCallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			y := make([]float32, tokens*l.Out())
			for i := int(next.Add(1) - 1); i < b.N; i = int(next.Add(1) - 1) {
				start := time.Now()
				if err := l.Forward(y, x); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = time.Since(start)
				// Between calls a handler waits for its next request;
				// yielding here does the same for the scheduler, so its
				// 10 ms time slices of a goroutine that never blocks do
				// not land inside calls.
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-us")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
