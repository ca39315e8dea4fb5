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
// which depends on the pruned sets (a channel Sweep given the groups'
// channels does exactly the same). Compare the channels and groups64 lines
// of a shape and method, measured back to back.
func BenchmarkSweepGroups(b *testing.B) {
	const size = 64
	ratios := []float64{0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 0.9}
	for _, shape := range benchShapes {
		if shape.name != "small" && shape.name != "onebatch" {
			continue
		}
		ex := shape.make()
		layer := chanprune.Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
		var sets []chanprune.ScoreSet
		for i := range 5 {
			sets = append(sets, chanprune.ScoreSet{Name: fmt.Sprintf("random%d", i), Scores: ex.RandomScores(uint64(i))})
		}
		for _, method := range []chanprune.Method{chanprune.Auto, chanprune.Gram, chanprune.Direct} {
			for _, v := range []struct {
				name string
				opts []chanprune.Option
			}{{"channels", nil}, {fmt.Sprintf("groups%d", size), []chanprune.Option{chanprune.WithGroups(size, chanprune.ReduceMean)}}} {
				b.Run(fmt.Sprintf("%s/%v/%s", shape.name, method, v.name), func(b *testing.B) {
					runtime.GC() // the previous variant's Evaluator, not this one's, pays for its memory
					e, err := chanprune.NewEvaluator(layer, append(v.opts, chanprune.WithMethod(method))...)
					if err != nil {
						b.Fatal(err)
					}
					loopSweep(b, e, ex.Batches, sets, ratios)
				})
			}
		}
	}
}
