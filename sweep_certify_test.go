package chanprune_test

import (
	"fmt"
	"testing"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/seed"
)

// A sweep certifies every pair that Evaluate certifies alone: a pair its
// row-sum bound fails (sweepVariance) is contracted alone, with its own
// variances, before anything goes to the direct path. On this layer the
// bound fails pairs at 0.75 on most batches, which Evaluate certifies.
func TestSweepCertifiesWhatEvaluateCertifies(t *testing.T) {
	ex := seed.New(256, 256, 12, 128, 3)
	layer := chanprune.Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
	ratios := []float64{0.5, 0.75, 0.9}
	var sets []chanprune.ScoreSet
	for i := range 5 {
		sets = append(sets, chanprune.ScoreSet{Name: fmt.Sprintf("random%d", i), Scores: ex.RandomScores(uint64(i))})
	}
	for _, group := range []int{1, 64} {
		e, err := chanprune.NewEvaluator(layer, chanprune.WithMethod(chanprune.Gram), chanprune.WithGroups(group, chanprune.ReduceMean))
		if err != nil {
			t.Fatal(err)
		}
		points, err := e.Sweep(ex.Batches, sets, ratios)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range points {
			var scores []float32
			for _, s := range sets {
				if s.Name == p.Set {
					scores = s.Scores
				}
			}
			alone, err := e.Evaluate(ex.Batches, scores, p.Ratio)
			if err != nil {
				t.Fatal(err)
			}
			if p.Uncertified != alone.Uncertified {
				t.Errorf("groups of %d, %s at %v: %d batches uncertified in the sweep, %d alone", group, p.Set, p.Ratio, p.Uncertified, alone.Uncertified)
			}
		}
	}
}
