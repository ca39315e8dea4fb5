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
	peak, err := chanprune.MeasurePeak(kernel, runtime.GOMAXPROCS(0), 250*time.Millisecond)
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

// BenchmarkForward times the serving path: one Forward of T full-width rows
// through the dense layer and through its pruned forms (the kept channels
// gathered on the fly), for each kernel. GFLOP/s counts 2·T·kept·out.
func BenchmarkForward(b *testing.B) {
	for _, sh := range [][2]int{{1024, 4096}, {4096, 1024}} {
		in, out := sh[0], sh[1]
		ex := seed.New(in, out, 1, 128, 5)
		layer := chanprune.Linear{Weight: ex.Weight, Bias: ex.Bias, In: in, Out: out}
		scores := ex.RandomScores(1)
		for _, tokens := range []int{1, 8, 128} {
			x := ex.Batches[0][:tokens*in]
			for _, variant := range []struct {
				name  string
				ratio float64
			}{{"dense", 0}, {"pruned0.2", 0.2}, {"pruned0.5", 0.5}} {
				for _, kern := range chanprune.Kernels() {
					if !kern.Supported {
						continue
					}
					name := fmt.Sprintf("%dx%d/T%d/%s/%s", in, out, tokens, variant.name, kern.Name)
					b.Run(name, func(b *testing.B) {
						l, err := chanprune.CompactByScores(layer, scores, variant.ratio, chanprune.WithKernel(kern.Name))
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
					})
				}
			}
		}
	}
}
