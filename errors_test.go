package chanprune

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestBadInputs(t *testing.T) {
	r := newRand(8)
	good := randLayer(r, 4, 3, true)
	batches := randBatches(r, 4, 2)
	scores := randScores(r, 4)
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	with := func(x []float32, i int, v float32) []float32 {
		y := append([]float32(nil), x...)
		y[i] = v
		return y
	}
	for _, tc := range []struct {
		name    string
		layer   Linear
		batches [][]float32
		scores  []float32
		ratio   float64
		want    error
		mention string // part of the message that locates the problem
	}{
		{"zero In", Linear{In: 0, Out: 3}, batches, scores, 0.5, ErrShape, "In=0"},
		{"short weight", Linear{In: 4, Out: 3, Weight: good.Weight[:11]}, batches, scores, 0.5, ErrShape, "11 values"},
		{"short bias", Linear{In: 4, Out: 3, Weight: good.Weight, Bias: good.Bias[:2]}, batches, scores, 0.5, ErrShape, "bias"},
		{"huge shape", Linear{In: math.MaxInt / 2, Out: 4}, batches, scores, 0.5, ErrShape, "weight"},
		{"NaN weight", Linear{In: 4, Out: 3, Weight: with(good.Weight, 5, nan)}, batches, scores, 0.5, ErrNonFinite, "weight [1, 1]"},
		{"Inf bias", Linear{In: 4, Out: 3, Weight: good.Weight, Bias: with(good.Bias, 2, inf)}, batches, scores, 0.5, ErrNonFinite, "bias [2]"},
		{"no batches", good, nil, scores, 0.5, ErrEmpty, "none"},
		{"zero-row batch", good, [][]float32{batches[0], {}}, scores, 0.5, ErrEmpty, "batch 1"},
		{"ragged batch", good, [][]float32{batches[0][:7]}, scores, 0.5, ErrShape, "batch 0"},
		{"NaN activation", good, [][]float32{batches[0], with(batches[0], 6, nan)}, scores, 0.5, ErrNonFinite, "batch 1: activation [1, 2]"},
		{"Inf activation", good, [][]float32{with(batches[0], 0, -inf)}, scores, 0.5, ErrNonFinite, "[0, 0]"},
		{"overflow", Linear{In: 4, Out: 3, Weight: []float32{3e38, 3e38, 3e38, 3e38, 0, 0, 0, 0, 0, 0, 0, 0}},
			[][]float32{{2, 2, 2, 2}}, scores, 0.5, ErrNonFinite, "overflows"},
		{"scores too short", good, batches, scores[:3], 0.5, ErrShape, "scores"},
		{"NaN score", good, batches, with(scores, 3, nan), 0.5, ErrNaNScore, "scores[3]"},
		{"negative ratio", good, batches, scores, -0.1, ErrRatio, "-0.1"},
		{"ratio above one", good, batches, scores, 1.5, ErrRatio, "1.5"},
		{"NaN ratio", good, batches, scores, math.NaN(), ErrRatio, "NaN"},
	} {
		_, err := Evaluate(tc.layer, tc.batches, tc.scores, tc.ratio)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: got %v, want %v mentioning %q", tc.name, err, tc.want, tc.mention)
		}
	}
}

func TestUnknownKernel(t *testing.T) {
	l := randLayer(newRand(9), 2, 2, false)
	if _, err := NewEvaluator(l, WithKernel("sse9")); !errors.Is(err, ErrKernel) {
		t.Errorf("WithKernel(sse9): got %v, want ErrKernel", err)
	}
	t.Setenv(KernelEnv, "nope")
	if _, err := NewEvaluator(l); !errors.Is(err, ErrKernel) {
		t.Errorf("%s=nope: got %v, want ErrKernel", KernelEnv, err)
	}
}

func TestMeasurePeak(t *testing.T) {
	if _, err := MeasurePeak("generic", 1, time.Millisecond); !errors.Is(err, ErrKernel) {
		t.Errorf("generic: got %v, want ErrKernel (no peak loop)", err)
	}
	if _, err := MeasurePeak("sse9", 1, time.Millisecond); !errors.Is(err, ErrKernel) {
		t.Errorf("sse9: got %v, want ErrKernel", err)
	}
	forEachKernel(t, func(t *testing.T, k *kernel) {
		if k.peak == nil {
			t.Skipf("kernel %s has no peak loop", k.name)
		}
		for _, d := range []time.Duration{0, -time.Second} { // no window: no rate, not a rate of 0
			if g, err := MeasurePeak(k.name, 1, d); !errors.Is(err, ErrOption) {
				t.Errorf("window %v: got %v GFLOP/s, %v, want ErrOption", d, g, err)
			}
		}
		for _, workers := range []int{-1, 0, maxMeasureWorkers + 1, math.MaxInt} { // no team, or more threads than Go allows
			if g, err := MeasurePeak(k.name, workers, time.Millisecond); !errors.Is(err, ErrOption) {
				t.Errorf("%d workers: got %v GFLOP/s, %v, want ErrOption", workers, g, err)
			}
		}
		if g, err := MeasurePeak(k.name, 2, time.Millisecond); err != nil || !(g > 0) {
			t.Errorf("%v GFLOP/s, %v", g, err)
		}
	})
}

// TestNilArguments checks that a nil destination, writer or reader is an
// ErrNil error, not a panic, and that a nil Option is left out.
func TestNilArguments(t *testing.T) {
	r := newRand(10)
	l := randLayer(r, 4, 3, true)
	batches, scores := randBatches(r, 4, 2), randScores(r, 4)
	e, err := NewEvaluator(l, nil, WithWorkers(1), nil)
	if err != nil {
		t.Fatalf("NewEvaluator with nil options: %v", err)
	}
	est, err := NewEstimator(EstimatorNames()[0], l, EstimatorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"EvaluateTo":         func() error { return e.EvaluateTo(nil, batches, scores, 0.5) },
		"EvaluateRepairedTo": func() error { return e.EvaluateRepairedTo(nil, batches, scores, 0.5, Repair{Mode: CompensateBias}) },
		"SweepTo":            func() error { return e.SweepTo(nil, batches, []ScoreSet{{Name: "s", Scores: scores}}, []float64{0.5}) },
		"Save":               func() error { return est.Save(nil) },
		"LoadEstimator":      func() error { _, err := LoadEstimator(nil, l); return err },
	} {
		if err := call(); !errors.Is(err, ErrNil) {
			t.Errorf("%s with nil: got %v, want ErrNil", name, err)
		}
	}
	// The evaluator is usable after the refused calls.
	if _, err := e.Evaluate(batches, scores, 0.5); err != nil {
		t.Errorf("Evaluate after the nil calls: %v", err)
	}
}

// Activations whose squares pass float32's range overflow the Gram method's
// G = xᵀx while the layer's output stays ordinary: a forced Gram evaluation
// must say that its own sums overflowed, not that the output did, which the
// direct method shows it does not.
func TestGramOverflowNamesItsSums(t *testing.T) {
	r := newRand(9)
	l := randLayer(r, 16, 40, true)
	for i := range l.Weight {
		l.Weight[i] *= 1e-25
	}
	batches := randBatches(r, 16, 8, 3)
	for _, x := range batches {
		for i := range x {
			x[i] *= 1e25 // x² ≈ 1e50
		}
	}
	scores := randScores(r, 16)
	direct, err := NewEvaluator(l, WithMethod(Direct))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := direct.Evaluate(batches, scores, 0.5); err != nil {
		t.Fatalf("direct: %v", err)
	}
	e, err := NewEvaluator(l, WithMethod(Gram))
	if err != nil {
		t.Fatal(err)
	}
	sets := []ScoreSet{{"s", scores}}
	check := func(what string, err error) {
		t.Helper()
		var be *BatchError
		if !errors.Is(err, ErrNonFinite) || !errors.As(err, &be) || be.Batch != 0 ||
			!strings.Contains(err.Error(), "Gram") || strings.Contains(err.Error(), "output overflows") {
			t.Errorf("%s: %v, want ErrNonFinite naming the Gram sums of batch 0", what, err)
		}
	}
	_, err = e.Evaluate(batches, scores, 0.5)
	check("Evaluate", err)
	_, err = e.Sweep(batches, sets, []float64{0.25, 0.5})
	check("Sweep", err)
	s, err := e.NewStream(sets, []float64{0.5})
	if err != nil {
		t.Fatal(err)
	}
	check("Stream", s.Observe(batches[0]))
	_, err = e.EvaluateRepaired(batches, scores, 0.5, Repair{Mode: CompensateBias})
	check("EvaluateRepaired", err)
}
