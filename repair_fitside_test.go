package chanprune

import (
	"slices"
	"testing"

	"github.com/chanprune/chanprune/internal/seed"
)

// TestFitSideMatchesOneAtATime: fitting a repair on the evaluated batches
// forms groups of them side by side, one per worker, and the rest one at a
// time on all the workers; the fit (Σx, Σxᵀx) and every batch's metrics
// must be the same to the bit for one worker (no group), two and three
// (seven batches: groups and a remainder).
func TestFitSideMatchesOneAtATime(t *testing.T) {
	ex := seed.New(96, 160, 7, 100, 3)
	layer := Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
	scores := ex.RandomScores(2)
	type fitted struct {
		sum, xx []float64
		m       Metrics
	}
	var got []fitted
	for _, workers := range []int{1, 2, 3} {
		e, err := NewEvaluator(layer, WithWorkers(workers))
		if err != nil {
			t.Fatal(err)
		}
		if side := fitSideCount(ex.Batches, ex.In, workers); (side > 0) != (workers > 1) {
			t.Fatalf("%d workers: %d batches side by side", workers, side)
		}
		m, err := e.EvaluateRepaired(ex.Batches, scores, 0.3, Repair{Mode: CompensateLstsq, Damp: DefaultDamp})
		if err != nil {
			t.Fatal(err)
		}
		fit := e.repair.fit
		got = append(got, fitted{slices.Clone(fit.sum), slices.Clone(fit.xx), m})
	}
	for i, g := range got[1:] {
		if !slices.Equal(g.sum, got[0].sum) || !slices.Equal(g.xx, got[0].xx) {
			t.Errorf("%d workers: the fit differs from one worker's", i+2)
		}
		for b, bm := range g.m.PerBatch {
			if w := got[0].m.PerBatch[b]; bm.RMSE != w.RMSE || bm.CosineSimilarity != w.CosineSimilarity {
				t.Errorf("%d workers, batch %d: %v %v, one worker %v %v", i+2, b, bm.RMSE, bm.CosineSimilarity, w.RMSE, w.CosineSimilarity)
			}
		}
	}
}
