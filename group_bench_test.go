package chanprune_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/chanprune/chanprune"
)

// BenchmarkSweepGroups times one Sweep of 5 score sets × 9 ratios on the
// small and onebatch shapes, pruning single channels and whole groups of
// 64 (heads) with the same scores, under each method. The groups become a
// channel order, so with the method forced a grouped Sweep does the
// channel Sweep's work for its pruned sets and costs no more; under Auto
// the Gram certificate may send some pairs of either to the direct path,
// which depends on the pruned sets. The same-cuts variant is a channel
// Sweep that prunes exactly the grouped Sweep's channels (each channel
// scored by its group's score, at the ratios that cut as many channels):
// under Auto it is the like-for-like comparison of the grouping's cost.
// Compare the lines of a shape and method, measured back to back.
func BenchmarkSweepGroups(b *testing.B) {
	const size = 64
	ratios := []float64{0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 0.9}
	for _, shape := range benchShapes {
		if shape.name != "small" && shape.name != "onebatch" {
			continue
		}
		ex := shape.make()
		layer := chanprune.Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
		var sets, sameSets []chanprune.ScoreSet
		for i := range 5 {
			sets = append(sets, chanprune.ScoreSet{Name: fmt.Sprintf("random%d", i), Scores: ex.RandomScores(uint64(i))})
			sameSets = append(sameSets, chanprune.ScoreSet{Name: sets[i].Name, Scores: groupScored(sets[i].Scores, size)})
		}
		groups := ex.In / size
		sameRatios := make([]float64, len(ratios))
		for i, r := range ratios {
			sameRatios[i] = float64(int(float64(groups)*r)*size) / float64(ex.In)
		}
		for _, method := range []chanprune.Method{chanprune.Auto, chanprune.Gram, chanprune.Direct} {
			for _, v := range []struct {
				name   string
				opts   []chanprune.Option
				sets   []chanprune.ScoreSet
				ratios []float64
			}{
				{"channels", nil, sets, ratios},
				{fmt.Sprintf("groups%d", size), []chanprune.Option{chanprune.WithGroups(size, chanprune.ReduceMean)}, sets, ratios},
				{"channels-same-cuts", nil, sameSets, sameRatios},
			} {
				b.Run(fmt.Sprintf("%s/%v/%s", shape.name, method, v.name), func(b *testing.B) {
					runtime.GC() // the previous variant's Evaluator, not this one's, pays for its memory
					e, err := chanprune.NewEvaluator(layer, append(v.opts, chanprune.WithMethod(method))...)
					if err != nil {
						b.Fatal(err)
					}
					loopSweep(b, e, ex.Batches, v.sets, v.ratios)
				})
			}
		}
	}
}

// groupScored returns scores with each channel's replaced by the mean of
// its group of size channels (ReduceMean's group score, in float64).
func groupScored(scores []float32, size int) []float32 {
	out := make([]float32, len(scores))
	for g0 := 0; g0 < len(scores); g0 += size {
		var sum float64
		for _, s := range scores[g0 : g0+size] {
			sum += float64(s)
		}
		for c := g0; c < g0+size; c++ {
			out[c] = float32(sum / float64(size))
		}
	}
	return out
}
