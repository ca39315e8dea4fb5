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

// An Auto sweep redoes its uncertified batches on the direct path pair by
// pair over the chunk (redoChunk): each redone batch has the bits of the
// direct sweep's, pairs that prune the same channels (ratio 0.5 twice)
// included, and is recorded as direct.
func TestSweepRedoesUncertifiedInRuns(t *testing.T) {
	l, batches := annihilating(1e-3, 256, 512, 64, 64, 64, 64, 64, 32, 64)
	sets := []ScoreSet{{"a", randScores(newRand(5), l.In)}, {"b", randScores(newRand(6), l.In)}}
	ratios := []float64{0.25, 0.5, 0.5}
	direct, err := NewEvaluator(l, WithMethod(Direct))
	if err != nil {
		t.Fatal(err)
	}
	want, err := direct.Sweep(batches, sets, ratios)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{2, 3} {
		e, err := NewEvaluator(l, WithWorkers(workers))
		if err != nil {
			t.Fatal(err)
		}
		if m := e.plan(batches, len(sets)*len(ratios), len(sets), false); m != Gram {
			t.Fatalf("Auto plans %v for the sweep: the test needs Gram", m)
		}
		got, err := e.Sweep(batches, sets, ratios)
		if err != nil {
			t.Fatal(err)
		}
		redone := 0
		for i, p := range got {
			for b, bm := range p.PerBatch {
				if bm.Method == Direct {
					redone++
					if bm != want[i].PerBatch[b] {
						t.Errorf("%d workers, point %d, batch %d: %+v, direct sweep %+v", workers, i, b, bm, want[i].PerBatch[b])
					}
				}
			}
		}
		if redone == 0 {
			t.Errorf("%d workers: no batch redone: the test needs uncertified batches", workers)
		}
	}
}
