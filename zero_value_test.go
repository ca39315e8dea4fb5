package chanprune

import (
	"errors"
	"testing"
)

// TestZeroValuesRefuseCalls: every exported method of a type that its
// constructor makes, called on the type's zero value, returns ErrNil or a
// zero answer, and panics nowhere.
func TestZeroValuesRefuseCalls(t *testing.T) {
	r := newRand(3)
	l := randLayer(r, 8, 4, true)
	batches := randBatches(r, 8, 5)
	scores := randScores(r, 8)
	sets := []ScoreSet{{Name: "a", Scores: scores}}
	ratios := []float64{0.5}
	var m Metrics
	var points []Point
	calls := map[string]func() error{
		"Evaluator.Evaluate":   func() error { _, err := new(Evaluator).Evaluate(batches, scores, 0.5); return err },
		"Evaluator.EvaluateTo": func() error { return new(Evaluator).EvaluateTo(&m, batches, scores, 0.5) },
		"Evaluator.EvaluateRepaired": func() error {
			_, err := new(Evaluator).EvaluateRepaired(batches, scores, 0.5, Repair{Mode: CompensateBias})
			return err
		},
		"Evaluator.EvaluateRepairedTo": func() error {
			return new(Evaluator).EvaluateRepairedTo(&m, batches, scores, 0.5, Repair{Mode: CompensateBias})
		},
		"Evaluator.Sweep":   func() error { _, err := new(Evaluator).Sweep(batches, sets, ratios); return err },
		"Evaluator.SweepTo": func() error { return new(Evaluator).SweepTo(&points, batches, sets, ratios) },
		"Evaluator.SweepRepaired": func() error {
			_, err := new(Evaluator).SweepRepaired(batches, sets, ratios, Repair{Mode: CompensateBias})
			return err
		},
		"Evaluator.NewStream": func() error { _, err := new(Evaluator).NewStream(sets, ratios); return err },
		"Evaluator.NewRepairedStream": func() error {
			_, err := new(Evaluator).NewRepairedStream(sets, ratios, Repair{Mode: CompensateNone})
			return err
		},
		"Evaluator.NewFit.Observe": func() error { return new(Evaluator).NewFit().Observe(batches[0]) },
		"Stream.Observe":           func() error { return new(Stream).Observe(batches[0]) },
		"Stream.ObserveBatches":    func() error { return new(Stream).ObserveBatches(batches) },
		"Stream.Result":            func() error { _, err := new(Stream).Result(); return err },
		"Fit.Observe":              func() error { return new(Fit).Observe(batches[0]) },
		"Fit.Repair": func() error {
			_, err := new(Fit).Repair(l, []int{0}, CompensateLstsq, DefaultDamp)
			return err
		},
		"Layer.Forward":        func() error { return new(Layer).Forward(make([]float32, 4), make([]float32, 8)) },
		"Layer.ForwardCompact": func() error { return new(Layer).ForwardCompact(make([]float32, 4), nil) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrNil) {
			t.Errorf("%s on a zero value: got %v, want ErrNil", name, err)
		}
	}
	var e Evaluator
	var f Fit
	var z Layer
	if e.Kernel() != "" || f.Tokens() != 0 || z.Kernel() != "" || z.Format() != Float32 ||
		z.Weight() != nil || z.Bias() != nil || z.Kept() != nil || z.In() != 0 || z.Out() != 0 || z.Tie().Size() != 0 {
		t.Error("a zero value's accessors: want zero answers")
	}
}
