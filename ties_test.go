package chanprune

import (
	"errors"
	"slices"
	"testing"
)

func TestTiesAtCut(t *testing.T) {
	scores := []float32{0.5, 0.1, 0.5, 0.9, 0.5, 0.2, 0.5}
	// ascending: 1 (0.1), 5 (0.2), 0, 2, 4, 6 (0.5), 3 (0.9)
	for _, c := range []struct {
		ratio float64
		want  Tie
	}{
		{0, Tie{}},
		{2.0 / 7, Tie{}},          // cut below the 0.5 group
		{3.0 / 7, Tie{0.5, 1, 3}}, // channel 0 pruned, 2, 4, 6 kept
		{5.0 / 7, Tie{0.5, 3, 1}}, // 0, 2, 4 pruned, 6 kept
		{6.0 / 7, Tie{}},          // the whole group pruned
		{1, Tie{}},
	} {
		got, err := TiesAtCut(scores, c.ratio)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("ratio %v: %+v, want %+v", c.ratio, got, c.want)
		}
		pruned, _ := PrunedChannels(scores, c.ratio)
		if got.Size() > 0 && (!slices.Contains(pruned, 0) || slices.Contains(pruned, 6)) {
			t.Errorf("ratio %v: pruned %v, want the tied group's lowest indexes", c.ratio, pruned)
		}
	}
	if _, err := TiesAtCut(scores, 2); !errors.Is(err, ErrRatio) {
		t.Errorf("ratio 2: %v, want ErrRatio", err)
	}
}

// Evaluate and Sweep report the tie of each point.
func TestMetricsTie(t *testing.T) {
	r := newRand(43)
	layer := randLayer(r, 8, 16, true)
	batches := randBatches(r, 8, 3)
	scores := []float32{3, 1, 1, 1, 2, 5, 6, 7} // the 1s are the 3 lowest
	e, err := NewEvaluator(layer)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Evaluate(batches, scores, 0.25) // k=2 splits the 1s
	if err != nil {
		t.Fatal(err)
	}
	if want := (Tie{1, 2, 1}); m.Tie != want {
		t.Errorf("Evaluate: Tie %+v, want %+v", m.Tie, want)
	}
	points, err := e.Sweep(batches, []ScoreSet{{"s", scores}}, []float64{0.25, 0.375})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Tie{1, 2, 1}); points[0].Tie != want || points[1].Tie != (Tie{}) {
		t.Errorf("Sweep: ties %+v, %+v, want %+v and none", points[0].Tie, points[1].Tie, want)
	}
}
