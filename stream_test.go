package chanprune

import (
	"errors"
	"math"
	"runtime"
	"testing"
)

// sweepCase is a layer, batches and score sets with ties.
func sweepCase(seed uint64, in, out int) (Linear, [][]float32, []ScoreSet) {
	r := newRand(seed)
	l := randLayer(r, in, out, true)
	batches := randBatches(r, in, 7, 1, 12, 300)
	tied := make([]float32, in)
	for c := range tied {
		tied[c] = float32(c % 3)
	}
	return l, batches, []ScoreSet{{"random", randScores(r, in)}, {"tied", tied}, {"magnitude", randScores(r, in)}}
}

var sweepRatios = []float64{0.9, 0, 0.05, 0.3, 0.5, 1, 0.3}

// Every point of a sweep is the evaluation of its pair, on either path.
func TestSweepMatchesEvaluate(t *testing.T) {
	l, batches, sets := sweepCase(20, 24, 40)
	for _, method := range []Method{Direct, Gram} {
		e, err := NewEvaluator(l, WithMethod(method))
		if err != nil {
			t.Fatal(err)
		}
		points, err := e.Sweep(batches, sets, sweepRatios)
		if err != nil {
			t.Fatal(err)
		}
		if len(points) != len(sets)*len(sweepRatios) {
			t.Fatalf("%d points, want %d", len(points), len(sets)*len(sweepRatios))
		}
		for i, p := range points {
			set := sets[i/len(sweepRatios)]
			if p.Set != set.Name || p.Ratio != sweepRatios[i%len(sweepRatios)] {
				t.Fatalf("point %d is %s@%v, want %s@%v", i, p.Set, p.Ratio, set.Name, sweepRatios[i%len(sweepRatios)])
			}
			want := refEval(l, batches, set.Scores, p.Ratio)
			if method == Gram {
				want.tol = gramTolerance(l, batches, prunedMask(set.Scores, want.NumPruned))
			}
			if !want.within(p.Metrics) || len(p.PerBatch) != len(batches) {
				t.Errorf("%v %s@%v: rmse %v cos %v k %d, want %v %v %d ± %v", method, p.Set, p.Ratio,
					p.RMSE, p.CosineSimilarity, p.NumPruned, want.RMSE, want.CosineSimilarity, want.NumPruned, want.tol)
			}
		}
	}
}

func prunedMask(scores []float32, k int) []bool {
	order := make([]int32, len(scores))
	pruneOrder(order, scores)
	pruned := make([]bool, len(scores))
	for _, c := range order[:k] {
		pruned[c] = true
	}
	return pruned
}

// A stream fed one batch at a time gives the sweep's numbers, bit for bit.
func TestStreamEqualsSweep(t *testing.T) {
	l, batches, sets := sweepCase(21, 20, 50)
	for _, method := range []Method{Direct, Gram} {
		e, err := NewEvaluator(l, WithMethod(method))
		if err != nil {
			t.Fatal(err)
		}
		want, err := e.Sweep(batches, sets, sweepRatios)
		if err != nil {
			t.Fatal(err)
		}
		got := streamed(t, e, batches, sets, sweepRatios)
		for i := range want {
			if got[i].RMSE != want[i].RMSE || got[i].CosineSimilarity != want[i].CosineSimilarity {
				t.Errorf("%v point %d: stream %v %v, sweep %v %v", method, i, got[i].RMSE, got[i].CosineSimilarity,
					want[i].RMSE, want[i].CosineSimilarity)
			}
		}
	}
}

// streamed returns the points of a stream of e fed batches one at a time.
func streamed(t *testing.T, e *Evaluator, batches [][]float32, sets []ScoreSet, ratios []float64) []Point {
	t.Helper()
	s, err := e.NewStream(sets, ratios)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range batches {
		if err := s.Observe(x); err != nil {
			t.Fatal(err)
		}
	}
	points, err := s.Result()
	if err != nil {
		t.Fatal(err)
	}
	return points
}

func TestSweepAllocatesNothing(t *testing.T) {
	l, batches, sets := sweepCase(22, 32, 64)
	for _, method := range []Method{Direct, Gram} {
		e, err := NewEvaluator(l, WithMethod(method), WithWorkers(2))
		if err != nil {
			t.Fatal(err)
		}
		var points []Point
		if err := e.SweepTo(&points, batches, sets, sweepRatios); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(allocRuns, func() {
			if err := e.SweepTo(&points, batches, sets, sweepRatios); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per SweepTo, want 0", method, allocs)
		}
	}
}

// A long stream holds only the layer, one batch's scratch and 24 bytes per
// batch and point, however large the batches it has seen.
func TestStreamMemoryIsBounded(t *testing.T) {
	const in, out, tokens, n = 64, 96, 64, 100
	l, _, sets := sweepCase(23, in, out)
	r := newRand(24)
	batch := randBatches(r, in, tokens)[0]
	for _, method := range []Method{Direct, Gram} {
		// One worker: the pool's goroutines park and wake, and the runtime
		// then now and then refills a processor's caches (about 1 run in
		// 200 counted 15 KB more), which is not the stream's memory.
		e, err := NewEvaluator(l, WithMethod(method), WithWorkers(1))
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.NewStream(sets[:1], sweepRatios[:3])
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Observe(batch); err != nil { // sizes the scratch
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			// A new batch each time, as a reader would produce it, into the
			// same buffer.
			for i := range batch {
				batch[i] = float32(r.NormFloat64())
			}
			if err := s.Observe(batch); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		points := 3
		// Per-batch metrics (24 bytes) grow by appending: all the arrays
		// ever allocated add up to at most twice the final capacity, itself
		// at most twice the length; a batch observed is 4·tokens·in bytes.
		limit := uint64(4*24*points*(n+1) + 4096)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > limit {
			t.Errorf("%v: %d bytes allocated over %d batches of %d bytes, want ≤ %d", method, grew, n, 4*tokens*in, limit)
		}
	}
}

func TestSweepBadInputs(t *testing.T) {
	l, batches, sets := sweepCase(25, 8, 8)
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	nan := []float32{0, 1, 2, float32(math.NaN()), 4, 5, 6, 7}
	for _, tc := range []struct {
		name    string
		batches [][]float32
		sets    []ScoreSet
		ratios  []float64
		want    error
	}{
		{"no sets", batches, nil, sweepRatios, ErrEmpty},
		{"no ratios", batches, sets, nil, ErrEmpty},
		{"bad ratio", batches, sets, []float64{0.5, 2}, ErrRatio},
		{"NaN score", batches, []ScoreSet{{"nan", nan}}, sweepRatios, ErrNaNScore},
		{"short scores", batches, []ScoreSet{{"short", nan[:7]}}, sweepRatios, ErrShape},
		{"no batches", nil, sets, sweepRatios, ErrEmpty},
		{"ragged batch", [][]float32{batches[0][:9]}, sets, sweepRatios, ErrShape},
	} {
		if _, err := e.Sweep(tc.batches, tc.sets, tc.ratios); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	s, err := e.NewStream(sets, sweepRatios)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Result(); !errors.Is(err, ErrEmpty) {
		t.Errorf("Result before Observe: got %v, want ErrEmpty", err)
	}
}
