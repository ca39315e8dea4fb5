package chanprune

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestRepairMatchesReference holds every mode, damp 0 included, to the
// float64 least-squares reference on small random layers, fitted on the
// evaluated batches and on held-out ones.
func TestRepairMatchesReference(t *testing.T) {
	r := newRand(15)
	for _, tc := range []struct {
		in, out int
		bias    bool
		ratio   float64
		damp    float64
		heldOut bool
	}{
		{7, 5, true, 0.4, 0, false},
		{12, 9, false, 0.5, 0, true},
		{16, 3, true, 0.25, 0.01, false},
		{9, 20, true, 0.7, 0.1, true},
	} {
		l := randLayer(r, tc.in, tc.out, tc.bias)
		batches := randBatches(r, tc.in, 40, 33)
		fit := batches
		if tc.heldOut {
			fit = randBatches(r, tc.in, 50, 7)
		}
		scores := randScores(r, tc.in)
		e, err := NewEvaluator(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []Compensation{CompensateNone, CompensateBias, CompensateLstsq} {
			rep := Repair{Mode: mode, Damp: tc.damp}
			if tc.heldOut {
				rep.Fit = e.NewFit()
				for _, x := range fit {
					if err := rep.Fit.Observe(x); err != nil {
						t.Fatal(err)
					}
				}
			}
			m, err := e.EvaluateRepaired(batches, scores, tc.ratio, rep)
			if err != nil {
				t.Fatal(err)
			}
			pruned, _ := PrunedChannels(scores, tc.ratio)
			mask := make([]bool, tc.in)
			for _, c := range pruned {
				mask[c] = true
			}
			rmse, cos, _ := refRepaired(l, batches, fit, mask, mode, tc.damp)
			if !within(m.RMSE-rmse, 1e-4*rmse) || !within(m.CosineSimilarity-cos, 2e-6) {
				t.Errorf("%dx%d ratio %v damp %v %v: got rmse %.9g cos %.9g, want %.9g %.9g",
					tc.in, tc.out, tc.ratio, tc.damp, mode, m.RMSE, m.CosineSimilarity, rmse, cos)
			}
			if wantFit := fit[0]; m.FitTokens != (len(wantFit)+len(fit[1]))/tc.in && mode != CompensateNone {
				t.Errorf("%v: FitTokens %d", mode, m.FitTokens)
			}
		}
	}
}

// TestRepairNoneIsSeed: CompensateNone returns Evaluate's and Sweep's
// results bit for bit.
func TestRepairNoneIsSeed(t *testing.T) {
	r := newRand(16)
	l := randLayer(r, 24, 40, true)
	batches := randBatches(r, 24, 30, 17, 5)
	scores := randScores(r, 24)
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.Evaluate(batches, scores, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.EvaluateRepaired(batches, scores, 0.3, Repair{Mode: CompensateNone, Damp: DefaultDamp})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("EvaluateRepaired none: %v, %+v; want %+v", err, got, want)
	}
	sets := []ScoreSet{{"a", scores}, {"b", randScores(r, 24)}}
	ratios := []float64{0.1, 0.5}
	wantPts, err := e.Sweep(batches, sets, ratios)
	if err != nil {
		t.Fatal(err)
	}
	gotPts, err := e.SweepRepaired(batches, sets, ratios, Repair{Mode: CompensateNone})
	if err != nil || !reflect.DeepEqual(gotPts, wantPts) {
		t.Errorf("SweepRepaired none: %v, %+v; want %+v", err, gotPts, wantPts)
	}
}

// TestRepairBiasIsLstsqWithNothingKept: with every channel pruned there is
// nothing to refit, and lstsq is bias bit for bit.
func TestRepairBiasIsLstsqWithNothingKept(t *testing.T) {
	r := newRand(17)
	l := randLayer(r, 10, 6, false)
	batches := randBatches(r, 10, 20, 9)
	scores := randScores(r, 10)
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	bias, err := e.EvaluateRepaired(batches, scores, 1, Repair{Mode: CompensateBias})
	if err != nil {
		t.Fatal(err)
	}
	lstsq, err := e.EvaluateRepaired(batches, scores, 1, Repair{Mode: CompensateLstsq, Damp: DefaultDamp})
	if err != nil {
		t.Fatal(err)
	}
	if bias.RMSE != lstsq.RMSE || bias.CosineSimilarity != lstsq.CosineSimilarity {
		t.Errorf("ratio 1: bias %v %v, lstsq %v %v", bias.RMSE, bias.CosineSimilarity, lstsq.RMSE, lstsq.CosineSimilarity)
	}
}

// TestRepairSweepMatchesEvaluate: every point of a repaired sweep, and of
// a repaired stream fed a fit set, equals the Evaluate of its pair.
func TestRepairSweepMatchesEvaluate(t *testing.T) {
	r := newRand(18)
	l := randLayer(r, 20, 12, true)
	batches := randBatches(r, 20, 25, 40)
	sets := []ScoreSet{{"a", randScores(r, 20)}, {"b", randScores(r, 20)}}
	ratios := []float64{0.2, 0.6, 0.9}
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	rep := Repair{Mode: CompensateLstsq, Damp: DefaultDamp}
	points, err := e.SweepRepaired(batches, sets, ratios, rep)
	if err != nil {
		t.Fatal(err)
	}
	rep.Fit = e.NewFit()
	for _, x := range batches {
		if err := rep.Fit.Observe(x); err != nil {
			t.Fatal(err)
		}
	}
	s, err := e.NewRepairedStream(sets, ratios, rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range batches {
		if err := s.Observe(x); err != nil {
			t.Fatal(err)
		}
	}
	streamed, err := s.Result()
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range points {
		m, err := e.EvaluateRepaired(batches, sets[i/len(ratios)].Scores, p.Ratio, Repair{Mode: CompensateLstsq, Damp: DefaultDamp})
		if err != nil {
			t.Fatal(err)
		}
		if p.RMSE != m.RMSE || p.CosineSimilarity != m.CosineSimilarity || !p.FitEvaluated || p.Compensation != CompensateLstsq {
			t.Errorf("point %d: sweep %+v, evaluate %+v", i, p.Metrics, m)
		}
		if q := streamed[i]; q.RMSE != m.RMSE || q.CosineSimilarity != m.CosineSimilarity || q.FitEvaluated {
			t.Errorf("point %d: stream %+v, evaluate %+v", i, q.Metrics, m)
		}
	}
}

// TestRepairRefusesSingular: a kept channel that is a copy of another, with
// no damp, is refused naming damp; a damp makes it solvable.
func TestRepairRefusesSingular(t *testing.T) {
	r := newRand(19)
	l := randLayer(r, 6, 4, true)
	batches := randBatches(r, 6, 30)
	for t := range 30 {
		batches[0][t*6+4] = batches[0][t*6+1] // channel 4 copies channel 1
	}
	scores := []float32{5, 6, 0, 7, 8, 9} // channel 2 pruned at ratio 0.2
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.EvaluateRepaired(batches, scores, 0.2, Repair{Mode: CompensateLstsq})
	if !errors.Is(err, ErrNotPositiveDefinite) {
		t.Fatalf("damp 0: got %v, want ErrNotPositiveDefinite", err)
	}
	if !strings.Contains(err.Error(), "damp") {
		t.Errorf("error %q does not name damp", err)
	}
	if _, err := e.EvaluateRepaired(batches, scores, 0.2, Repair{Mode: CompensateLstsq, Damp: DefaultDamp}); err != nil {
		t.Errorf("damp 0.01: %v", err)
	}
}

// TestRepairedStreamNeedsFit: a stream cannot fit on batches it has not seen.
func TestRepairedStreamNeedsFit(t *testing.T) {
	e, err := NewEvaluator(randLayer(newRand(20), 4, 4, true))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.NewRepairedStream([]ScoreSet{{"a", make([]float32, 4)}}, []float64{0.5}, Repair{Mode: CompensateBias})
	if !errors.Is(err, ErrEmpty) {
		t.Errorf("got %v, want ErrEmpty", err)
	}
}

// TestRepairRefusesFitOfAnotherWidth: a fit set formed for a layer of
// another In holds the statistics of other channels; an evaluation refuses
// it rather than index past them or read a prefix of them.
func TestRepairRefusesFitOfAnotherWidth(t *testing.T) {
	r := newRand(23)
	l := randLayer(r, 8, 5, true)
	batches, scores := randBatches(r, 8, 6, 3), randScores(r, 8)
	sets, ratios := []ScoreSet{{"a", scores}}, []float64{0.25, 0.5}
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	narrow, err := NewEvaluator(randLayer(r, 4, 5, true))
	if err != nil {
		t.Fatal(err)
	}
	fit := narrow.NewFit()
	if err := fit.Observe(randBatches(r, 4, 16)[0]); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Compensation{CompensateNone, CompensateBias, CompensateLstsq} {
		rep := Repair{Mode: mode, Damp: DefaultDamp, Fit: fit}
		calls := map[string]func() error{
			"EvaluateRepaired":  func() error { _, err := e.EvaluateRepaired(batches, scores, 0.5, rep); return err },
			"SweepRepaired":     func() error { _, err := e.SweepRepaired(batches, sets, ratios, rep); return err },
			"NewRepairedStream": func() error { _, err := e.NewRepairedStream(sets, ratios, rep); return err },
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "In = 4") {
				t.Errorf("%s, %v, fit set of In 4 for In 8: got %v, want ErrShape naming its In", name, mode, err)
			}
		}
	}
}

// TestRepairedLayerServes: the Layer built from Fit.Repair's output
// forwards full-width rows to the repaired output, whose RMSE against the
// layer's own is what EvaluateRepaired reports.
func TestRepairedLayerServes(t *testing.T) {
	r := newRand(22)
	l := randLayer(r, 14, 9, false)
	batches := randBatches(r, 14, 64)
	scores := randScores(r, 14)
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	fit := e.NewFit()
	if err := fit.Observe(batches[0]); err != nil {
		t.Fatal(err)
	}
	pruned, _ := PrunedChannels(scores, 0.4)
	rl, err := fit.Repair(l, pruned, CompensateLstsq, DefaultDamp)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := rl.Layer()
	if err != nil {
		t.Fatal(err)
	}
	x := batches[0]
	y2 := make([]float32, 64*9)
	if err := layer.Forward(y2, x); err != nil {
		t.Fatal(err)
	}
	var dd float64
	for tk := range 64 {
		for o := range 9 {
			var y float64
			for c := range 14 {
				y += float64(x[tk*14+c]) * float64(l.Weight[o*14+c])
			}
			dd += (y - float64(y2[tk*9+o])) * (y - float64(y2[tk*9+o]))
		}
	}
	m, err := e.EvaluateRepaired(batches, scores, 0.4, Repair{Mode: CompensateLstsq, Damp: DefaultDamp, Fit: fit})
	if err != nil {
		t.Fatal(err)
	}
	if rmse := math.Sqrt(dd / (64 * 9)); !within(rmse-m.RMSE, 1e-4*m.RMSE) {
		t.Errorf("served rmse %v, evaluated %v", rmse, m.RMSE)
	}
	if len(rl.Bias) != 9 || len(rl.Kept)+len(rl.Pruned) != 14 {
		t.Errorf("repaired layer: %d bias values, %d+%d channels", len(rl.Bias), len(rl.Kept), len(rl.Pruned))
	}
}

// TestRepairBiasIsSeedOnCentredRows: a bias repair is the seed's pruning
// of the layer with bias c₀ = b + W·m on the rows less m (repair_bias.go),
// and a bias sweep or evaluation returns, bit for bit, the seed's sweep of
// that layer on those rows, fitted on the evaluated batches or on others.
// On the direct path: a sweep may plan Gram where one evaluation plans
// Direct, and their roundings differ.
func TestRepairBiasIsSeedOnCentredRows(t *testing.T) {
	r := newRand(154)
	const in, out = 24, 48
	l := randLayer(r, in, out, true)
	batches := randBatches(r, in, 60, 33, 7)
	for _, x := range batches {
		for i := range x {
			x[i] += 3
		}
	}
	sets := []ScoreSet{{"a", randScores(r, in)}, {"b", randScores(r, in)}}
	ratios := []float64{0.1, 0.5, 0.9}
	e, err := NewEvaluator(l, WithMethod(Direct))
	if err != nil {
		t.Fatal(err)
	}
	fit := fitOn(t, e, randBatches(r, in, 100, 20))
	evaluated, _, err := e.batchesMean(nil, batches)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rep  Repair
		mean []float64
	}{
		{Repair{Mode: CompensateBias}, evaluated},
		{Repair{Mode: CompensateBias, Fit: fit}, fit.mean()},
	} {
		m := make([]float32, in)
		for c, v := range tc.mean {
			m[c] = float32(v)
		}
		c0 := make([]float32, out)
		for o := range out {
			b := float64(l.Bias[o])
			for c := range in {
				b += float64(l.Weight[o*in+c]) * float64(m[c])
			}
			c0[o] = float32(b)
		}
		var centred [][]float32
		for _, x := range batches {
			centred = append(centred, shiftRows(nil, x, m))
		}
		seedE, err := NewEvaluator(Linear{Weight: l.Weight, Bias: c0, In: in, Out: out}, WithMethod(Direct))
		if err != nil {
			t.Fatal(err)
		}
		want, err := seedE.Sweep(centred, sets, ratios)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.SweepRepaired(batches, sets, ratios, tc.rep)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range got {
			w := want[i]
			if p.RMSE != w.RMSE || p.CosineSimilarity != w.CosineSimilarity || p.Compensation != CompensateBias || p.FitEvaluated != (tc.rep.Fit == nil) {
				t.Errorf("fit given %v, point %d: %+v, the seed on centred rows %+v", tc.rep.Fit != nil, i, p.Metrics, w.Metrics)
			}
			one, err := e.EvaluateRepaired(batches, sets[i/len(ratios)].Scores, p.Ratio, tc.rep)
			if err != nil {
				t.Fatal(err)
			}
			if one.RMSE != p.RMSE || one.CosineSimilarity != p.CosineSimilarity {
				t.Errorf("fit given %v, point %d: evaluate %v %v, sweep %v %v", tc.rep.Fit != nil, i, one.RMSE, one.CosineSimilarity, p.RMSE, p.CosineSimilarity)
			}
		}
	}
}

// TestRepairNonFiniteBatch: a non-finite activation in any batch of a
// repaired evaluation fitted on its batches is refused naming the batch
// and the entry, whether it sets the first batch's shift (batch 0), comes
// later, or cancels to NaN (+Inf and −Inf in one channel), on the fast
// route (a layer taller than wide) and the probe's.
func TestRepairNonFiniteBatch(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, out := range []int{16, 4} {
		r := newRand(31)
		l := randLayer(r, 8, out, true)
		e, err := NewEvaluator(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			batch, t, c int
			vals        []float32
		}{
			{0, 1, 3, []float32{float32(math.NaN())}},
			{2, 4, 0, []float32{-inf}},
			{3, 2, 5, []float32{inf, -inf}}, // rows 2 and 3 of channel 5
		} {
			batches := randBatches(r, 8, 6, 6, 6, 6)
			for i, v := range tc.vals {
				batches[tc.batch][(tc.t+i)*8+tc.c] = v
			}
			_, err := e.EvaluateRepaired(batches, randScores(r, 8), 0.5, Repair{Mode: CompensateLstsq, Damp: DefaultDamp})
			want := fmt.Sprintf("batch %d: fit batch: activation [%d, %d]", tc.batch, tc.t, tc.c)
			if !errors.Is(err, ErrNonFinite) || err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("out %d, %v in batch %d: got %v, want ErrNonFinite naming %q", out, tc.vals, tc.batch, err, want)
			}
		}
	}
}

// TestFitOverflowIsNonFinite: activations whose squares overflow the float32
// blocks of a fit set's Σxᵀx (256 rows of (3e18)²) are ErrNonFinite for
// lstsq and obs, not channels "linearly dependent" that a larger damp would
// fix; 1e17 fits in float32 and repairs.
func TestFitOverflowIsNonFinite(t *testing.T) {
	for _, c := range []struct {
		scale    float32
		overflow bool
	}{{1e17, false}, {3e18, true}} {
		r := newRand(46)
		l := randLayer(r, 12, 9, true)
		for i := range l.Weight {
			l.Weight[i] /= c.scale
		}
		batches := randBatches(r, 12, 300, 20)
		for _, x := range batches {
			for i := range x {
				x[i] *= c.scale
			}
		}
		e, err := NewEvaluator(l)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.EvaluateRepaired(batches, randScores(r, 12), 0.5, Repair{Mode: CompensateLstsq, Damp: DefaultDamp})
		if c.overflow != errors.Is(err, ErrNonFinite) || errors.Is(err, ErrNotPositiveDefinite) || !c.overflow && err != nil {
			t.Errorf("lstsq on activations ×%g: %v, want ErrNonFinite %v", c.scale, err, c.overflow)
		}
		est, err := NewEstimator("obs", l, EstimatorOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range batches {
			if err := est.Observe(x, []int{len(x) / 12, 12}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := est.Scores(); c.overflow != errors.Is(err, ErrNonFinite) || !c.overflow && err != nil {
			t.Errorf("obs on activations ×%g: %v, want ErrNonFinite %v", c.scale, err, c.overflow)
		}
	}
}

// TestHugeDampIsAnOption: a damp whose λ = damp·mean S_cc overflows float64
// is refused as the option it is (ErrOption), for lstsq and obs, not as
// channels "linearly dependent" that a larger damp would fix.
func TestHugeDampIsAnOption(t *testing.T) {
	r := newRand(47)
	l := randLayer(r, 6, 4, true)
	batches := randBatches(r, 6, 40)
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.EvaluateRepaired(batches, randScores(r, 6), 0.5, Repair{Mode: CompensateLstsq, Damp: math.MaxFloat64})
	if !errors.Is(err, ErrOption) || errors.Is(err, ErrNotPositiveDefinite) {
		t.Errorf("lstsq with damp MaxFloat64: %v, want ErrOption", err)
	}
	est, err := NewEstimator("obs", l, EstimatorOptions{Damp: math.MaxFloat64})
	if err != nil {
		t.Fatal(err)
	}
	if err := est.Observe(batches[0], []int{40, 6}); err != nil {
		t.Fatal(err)
	}
	if _, err := est.Scores(); !errors.Is(err, ErrOption) || errors.Is(err, ErrNotPositiveDefinite) {
		t.Errorf("obs with damp MaxFloat64: %v, want ErrOption", err)
	}
}
