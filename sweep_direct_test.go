package chanprune

import (
	"slices"
	"testing"
)

// A direct sweep pair by pair over runs of batches (sweepDirect) gives
// every batch the bits that a stream fed batch by batch gives it, whatever
// the worker count and however the batches are cut into chunks, pairs
// that prune the same channels (ratio 0.3 twice) included.
func TestSweepDirectEqualsStream(t *testing.T) {
	r := newRand(23)
	l := randLayer(r, 24, 40, true)
	tokens := make([]int, 70)
	for b := range tokens {
		tokens[b] = 16
	}
	tokens[33] = 5
	batches := randBatches(r, l.In, tokens...)
	sets := []ScoreSet{{"a", randScores(r, l.In)}, {"b", randScores(r, l.In)}}
	defer func(n int) { sideSums = n }(sideSums)
	for _, workers := range []int{1, 2, 3} {
		for _, chunk := range []int{1, 9, 1000} { // batches a chunk
			sideSums = chunk * len(sets) * len(sweepRatios)
			e, err := NewEvaluator(l, WithMethod(Direct), WithWorkers(workers))
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Sweep(batches, sets, sweepRatios)
			if err != nil {
				t.Fatal(err)
			}
			want := streamed(t, e, batches, sets, sweepRatios)
			for i := range want {
				if !slices.Equal(got[i].PerBatch, want[i].PerBatch) || got[i].RMSE != want[i].RMSE {
					t.Errorf("%d workers, chunks of %d batches, point %d: sweep %v, stream %v", workers, chunk, i, got[i].RMSE, want[i].RMSE)
				}
			}
		}
	}
}
