package chanprune_test

import (
	"runtime"
	"testing"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/seed"
)

// BenchmarkStream times a Stream of one pair (the CLI's eval: one score set
// at one ratio) over the seed example's batches on the direct path, fed one
// batch at a time (observe) and in groups of 8 a worker (groups,
// ObserveBatches: 1024 tokens a worker, as the CLI reads them), to compare
// with BenchmarkEvaluate/seed, whose time groups should reach: groups of 4
// a worker took 1.04–1.05 times as long as 8, as a call's last runs are
// short (batchRuns), and 16 no less than 8. Each op makes its stream.
func BenchmarkStream(b *testing.B) {
	ex := seed.Seed()
	layer := chanprune.Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
	sets := []chanprune.ScoreSet{{Name: "random", Scores: ex.RandomScores(1)}}
	ratios := []float64{0.2}
	feeds := []struct {
		name string
		feed func(s *chanprune.Stream, batches [][]float32) error
	}{
		{"observe", func(s *chanprune.Stream, batches [][]float32) error {
			for _, x := range batches {
				if err := s.Observe(x); err != nil {
					return err
				}
			}
			return nil
		}},
		{"groups", func(s *chanprune.Stream, batches [][]float32) error {
			n := 8 * runtime.GOMAXPROCS(0)
			for b := 0; b < len(batches); b += n {
				if err := s.ObserveBatches(batches[b:min(len(batches), b+n)]); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, f := range feeds {
		chanprune.ForEachKernelB(b, "seed/"+f.name, func(b *testing.B, kern chanprune.KernelInfo) {
			e, err := chanprune.NewEvaluator(layer, chanprune.WithKernel(kern.Name), chanprune.WithMethod(chanprune.Direct))
			if err != nil {
				b.Fatal(err)
			}
			run := func() error {
				s, err := e.NewStream(sets, ratios)
				if err == nil {
					err = f.feed(s, ex.Batches)
				}
				if err == nil {
					_, err = s.Result()
				}
				return err
			}
			if err := run(); err != nil { // warm: scratch
				b.Fatal(err)
			}
			for b.Loop() {
				if err := run(); err != nil {
					b.Fatal(err)
				}
			}
			chanprune.ReportPeakFraction(b, kern.Name, ex.FLOPs())
		})
	}
}
