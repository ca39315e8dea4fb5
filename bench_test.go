package chanprune_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/seed"
)

// benchShapes are the layers BenchmarkEvaluate measures. seed is the seed
// example; down is an MLP down-projection, where input-channel pruning is
// most used; token has single-token batches (decoding).
var benchShapes = []struct {
	name string
	make func() *seed.Example
}{
	{"seed", seed.Seed},
	{"down", func() *seed.Example { return seed.New(4096, 1024, 25, 128, 2) }},
	{"small", func() *seed.Example { return seed.New(256, 256, 100, 128, 3) }},
	{"token", func() *seed.Example { return seed.New(1024, 4096, 64, 1, 4) }},
}

// BenchmarkEvaluate times one Evaluate of each shape at ratio 0.2 on the
// direct path with every kernel this CPU supports. GFLOP/s counts one
// product, 2·tokens·in·out, whichever method runs.
func BenchmarkEvaluate(b *testing.B) { benchEvaluate(b, chanprune.Direct) }

// BenchmarkEvaluateAuto is BenchmarkEvaluate with the planner's choice.
func BenchmarkEvaluateAuto(b *testing.B) { benchEvaluate(b, chanprune.Auto) }

func benchEvaluate(b *testing.B, method chanprune.Method) {
	for _, shape := range benchShapes {
		ex := shape.make()
		layer := chanprune.Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
		scores := ex.RandomScores(1)
		for _, kern := range chanprune.Kernels() {
			if !kern.Supported {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s", shape.name, kern.Name), func(b *testing.B) {
				e, err := chanprune.NewEvaluator(layer, chanprune.WithKernel(kern.Name), chanprune.WithMethod(method))
				if err != nil {
					b.Fatal(err)
				}
				var m chanprune.Metrics
				if err := e.EvaluateTo(&m, ex.Batches, scores, 0.2); err != nil { // warm: scratch and, for Gram, H
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetBytes(int64(4 * len(ex.Batches) * ex.Tokens * ex.In))
				for b.Loop() {
					if err := e.EvaluateTo(&m, ex.Batches, scores, 0.2); err != nil {
						b.Fatal(err)
					}
				}
				gflops := ex.FLOPs() * float64(b.N) / b.Elapsed().Seconds() / 1e9
				b.ReportMetric(gflops, "GFLOP/s")
				reportPeakFraction(b, kern.Name, gflops)
			})
		}
	}
}

// reportPeakFraction reports GFLOP/s as a fraction of the kernel's peak on
// all cores, measured right after the benchmark, so that every line reads
// on its own on any machine (BenchmarkPeak gives the same figure).
func reportPeakFraction(b *testing.B, kernel string, gflops float64) {
	peak, err := chanprune.MeasurePeak(kernel, runtime.GOMAXPROCS(0), 100*time.Millisecond)
	if err == nil {
		b.ReportMetric(gflops/peak, "peak-fraction")
	}
}

// BenchmarkSweep times one Sweep of each shape: 5 score sets × 9 ratios, 45
// evaluations, with the planner's choice. Compare an op with one op of
// BenchmarkEvaluateAuto.
func BenchmarkSweep(b *testing.B) {
	ratios := []float64{0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 0.9}
	for _, shape := range benchShapes {
		ex := shape.make()
		layer := chanprune.Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
		sets := []chanprune.ScoreSet{{Name: "l2", Scores: ex.ActivationNorms()}}
		for i := range 4 {
			sets = append(sets, chanprune.ScoreSet{Name: fmt.Sprintf("random%d", i), Scores: ex.RandomScores(uint64(i))})
		}
		for _, kern := range chanprune.Kernels() {
			if !kern.Supported {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s", shape.name, kern.Name), func(b *testing.B) {
				e, err := chanprune.NewEvaluator(layer, chanprune.WithKernel(kern.Name))
				if err != nil {
					b.Fatal(err)
				}
				var points []chanprune.Point
				if err := e.SweepTo(&points, ex.Batches, sets, ratios); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := e.SweepTo(&points, ex.Batches, sets, ratios); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(points))*float64(b.N)/b.Elapsed().Seconds(), "evals/s")
			})
		}
	}
}
