package chanprune

import (
	"math"
	"testing"
)

// annihilating is a layer whose all-ones weight nearly annihilates its
// activations: each row is half +1, half −1, plus noise of 1e-3, so ‖y‖² is
// about 1e-6 of the entries of H⊙G that sum to it.
func annihilating(noise float64, in, out int, tokens ...int) (Linear, [][]float32) {
	r := newRand(14)
	l := Linear{In: in, Out: out, Weight: make([]float32, in*out)}
	for i := range l.Weight {
		l.Weight[i] = 1
	}
	batches := make([][]float32, len(tokens))
	for b, t := range tokens {
		x := make([]float32, t*in)
		for row := range t {
			signs := r.Perm(in)
			for c := range in {
				s := 1.0
				if signs[c] < in/2 {
					s = -1
				}
				x[row*in+c] = float32(s + noise*r.NormFloat64())
			}
		}
		batches[b] = x
	}
	return l, batches
}

// withinConformance reports whether got is within the README's tolerances
// of the float64 truth: relative 1e-5 for rmse, absolute 2e-6 for cosine.
func withinConformance(got, want Metrics) bool {
	return math.Abs(got.RMSE-want.RMSE) <= certRMSE*want.RMSE &&
		math.Abs(got.CosineSimilarity-want.CosineSimilarity) <= certCos
}

// The Gram path alone is wrong on the annihilating layer (6.7e-4 in the
// cosine, where the direct path errs by 1.2e-7); its certificate catches
// every batch, so Auto redoes them on the direct path (bitwise the direct
// path's result) and a forced Gram counts them, in Evaluate and in Sweep.
func TestGramCertifiesCancellation(t *testing.T) {
	l, batches := annihilating(1e-3, 256, 512, 512, 512)
	scores := randScores(newRand(3), l.In)
	ref := refEval(l, batches, scores, 0.5)
	evaluators := map[Method]*Evaluator{}
	for _, m := range []Method{Auto, Direct, Gram} {
		e, err := NewEvaluator(l, WithMethod(m))
		if err != nil {
			t.Fatal(err)
		}
		evaluators[m] = e
	}
	if m := evaluators[Auto].plan(batches, 1, 1, false); m != Gram {
		t.Fatalf("Auto plans %v for the layer: the test needs Gram", m)
	}
	results := map[Method]Metrics{}
	sweeps := map[Method][]Point{}
	for m, e := range evaluators {
		var err error
		if results[m], err = e.Evaluate(batches, scores, 0.5); err != nil {
			t.Fatal(err)
		}
		if sweeps[m], err = e.Sweep(batches, []ScoreSet{{"s", scores}}, []float64{0.25, 0.5}); err != nil {
			t.Fatal(err)
		}
	}

	auto, direct, gram := results[Auto], results[Direct], results[Gram]
	if !withinConformance(direct, ref.Metrics) {
		t.Fatalf("direct: cos %v, truth %v: the test needs the direct path within tolerance", direct.CosineSimilarity, ref.CosineSimilarity)
	}
	if auto.Uncertified != 0 || auto.RMSE != direct.RMSE || auto.CosineSimilarity != direct.CosineSimilarity {
		t.Errorf("auto: rmse %v, cos %v, %d uncertified; direct rmse %v, cos %v",
			auto.RMSE, auto.CosineSimilarity, auto.Uncertified, direct.RMSE, direct.CosineSimilarity)
	}
	if gram.Uncertified != len(batches) || withinConformance(gram, ref.Metrics) {
		t.Errorf("forced gram: cos %v (truth %v), %d of %d batches uncertified: want all, and out of tolerance",
			gram.CosineSimilarity, ref.CosineSimilarity, gram.Uncertified, len(batches))
	}
	for i, p := range sweeps[Auto] {
		d, g := sweeps[Direct][i], sweeps[Gram][i]
		if p.Uncertified != 0 || p.RMSE != d.RMSE || p.CosineSimilarity != d.CosineSimilarity {
			t.Errorf("sweep auto at %v: rmse %v, cos %v, %d uncertified; direct rmse %v, cos %v",
				p.Ratio, p.RMSE, p.CosineSimilarity, p.Uncertified, d.RMSE, d.CosineSimilarity)
		}
		if g.Uncertified != len(batches) {
			t.Errorf("sweep gram at %v: %d of %d batches uncertified, want all", p.Ratio, g.Uncertified, len(batches))
		}
	}
	for _, workers := range []int{1, 3} {
		e, err := NewEvaluator(l, WithWorkers(workers))
		if err != nil {
			t.Fatal(err)
		}
		if m, err := e.Evaluate(batches, scores, 0.5); err != nil || m.RMSE != auto.RMSE || m.CosineSimilarity != auto.CosineSimilarity {
			t.Errorf("%d workers: rmse %v, cos %v (%v); want rmse %v, cos %v", workers, m.RMSE, m.CosineSimilarity, err, auto.RMSE, auto.CosineSimilarity)
		}
	}
}

// On an ordinary layer every batch is certified, so the certificate costs
// no direct product.
func TestGramCertifiesOrdinaryLayer(t *testing.T) {
	r := newRand(16)
	l := randLayer(r, 128, 512, true)
	batches := randBatches(r, l.In, 512, 300, 64)
	scores := randScores(r, l.In)
	e, err := NewEvaluator(l, WithMethod(Gram))
	if err != nil {
		t.Fatal(err)
	}
	for _, ratio := range []float64{0, 0.1, 0.5, 0.9, 1} {
		m, err := e.Evaluate(batches, scores, ratio)
		if err != nil {
			t.Fatal(err)
		}
		if m.Uncertified != 0 {
			t.Errorf("ratio %v: %d batches uncertified", ratio, m.Uncertified)
		}
	}
	points, err := e.Sweep(batches, []ScoreSet{{"s", scores}}, []float64{0, 0.1, 0.5, 0.9, 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range points {
		if p.Uncertified != 0 {
			t.Errorf("sweep at %v: %d batches uncertified", p.Ratio, p.Uncertified)
		}
	}
}

// A NaN or infinity in ‖d‖² or y·d (what a NaN or infinity in a set's
// column side gives the x86 lowerSplitSets, kernel.go) is not certified,
// however small the variances, also where every channel is pruned and the
// other sums, exact, do not involve ‖d‖².
func TestGramNaNNotCertified(t *testing.T) {
	tiny := gramVariance{kk: 1e-300, kp: 1e-300, pp: 1e-300}
	nan := math.NaN()
	for _, c := range []struct {
		name        string
		yd, dd      float64
		all         bool
		us, tb      float64
		wantCertify bool
	}{
		{"dd", 0.5, nan, false, 0, 0, false},
		{"yd", nan, 0.25, false, 0, 0, false},
		{"dd, every channel pruned", 1, nan, true, 0.5, 1, false},
		{"infinite dd, every channel pruned", 1, math.Inf(1), true, 0.5, 1, false},
		{"finite", 0.5, 0.25, false, 0, 0, true},
	} {
		s := gramSums(1, c.yd, c.dd, c.all, c.us, c.tb)
		if got := certified(s, tiny); got != c.wantCertify {
			t.Errorf("%s: certified = %v, want %v (sums %v)", c.name, got, c.wantCertify, s)
		}
	}
}
