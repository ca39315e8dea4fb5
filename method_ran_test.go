package chanprune

import (
	"slices"
	"testing"
)

// Metrics and Point name the method that ran and the ratio asked for.
func TestMetricsCarryMethodAndRatio(t *testing.T) {
	r := newRand(41)
	layer := randLayer(r, 16, 64, true)
	batches := randBatches(r, 16, 5, 7)
	scores := randScores(r, 16)
	for _, m := range []Method{Direct, Gram} {
		e, err := NewEvaluator(layer, WithMethod(m))
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Evaluate(batches, scores, 0.25)
		if err != nil {
			t.Fatal(err)
		}
		if got.Method != m || got.Ratio != 0.25 {
			t.Errorf("WithMethod(%v): Evaluate gave Method %v, Ratio %v", m, got.Method, got.Ratio)
		}
		for b, bm := range got.PerBatch {
			if bm.Method != m {
				t.Errorf("WithMethod(%v): batch %d ran %v", m, b, bm.Method)
			}
		}
		points, err := e.Sweep(batches, []ScoreSet{{"s", scores}}, []float64{0.25, 0.5})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range points {
			if p.Method != m || p.Ratio != p.Metrics.Ratio {
				t.Errorf("WithMethod(%v): point %v ran %v", m, p.Ratio, p.Method)
			}
		}
		if points[1].Ratio != 0.5 {
			t.Errorf("second point has ratio %v, want 0.5", points[1].Ratio)
		}
	}
}

// Under Auto, a stream runs direct until building H pays, then Gram: its
// points say that the batches differ, and each batch says which ran. One-row
// batches stay direct on every kernel until they have cost as much as
// building H; a large batch then goes Gram.
func TestStreamMixedMethodIsAuto(t *testing.T) {
	r := newRand(42)
	layer := randLayer(r, 32, 4096, false)
	e, err := NewEvaluator(layer)
	if err != nil {
		t.Fatal(err)
	}
	sets := []ScoreSet{{"a", randScores(r, 32)}, {"b", randScores(r, 32)}}
	s, err := e.NewStream(sets, []float64{0.25, 0.5, 0.75})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range randBatches(r, 32, 1, 1, 1, 64, 64) {
		if err := s.Observe(x); err != nil {
			t.Fatal(err)
		}
	}
	points, err := s.Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range points {
		var ran []Method
		for _, b := range p.PerBatch {
			ran = append(ran, b.Method)
		}
		if !slices.Contains(ran, Direct) || !slices.Contains(ran, Gram) {
			t.Fatalf("point %s %v: batches ran %v, want both direct and gram", p.Set, p.Ratio, ran)
		}
		if p.Method != Auto {
			t.Errorf("point %s %v: Method %v, want auto for mixed batches %v", p.Set, p.Ratio, p.Method, ran)
		}
	}
}
