package chanprune

import (
	"errors"
	"testing"
)

// FuzzRepair holds EvaluateRepaired, in every mode, to the float64
// reference (refRepaired) on small layers and batches from the input's
// seed: shapes around the kernels' tiles, held-out or evaluated fit sets
// of more tokens than channels,
// channel means that make the centring matter, and damps from 0.01 up.
// A refusal must be ErrNotPositiveDefinite.
func FuzzRepair(f *testing.F) {
	f.Add(uint8(7), uint8(5), uint8(9), uint8(40), uint8(2), uint64(1), false)
	f.Add(uint8(16), uint8(17), uint8(30), uint8(3), uint8(0), uint64(2), true)
	f.Add(uint8(1), uint8(1), uint8(5), uint8(255), uint8(1), uint64(3), false)
	f.Fuzz(func(t *testing.T, in, out, tokens, ratio, damp uint8, seed uint64, heldOut bool) {
		n, o := 1+int(in)%20, 1+int(out)%20
		r := newRand(seed)
		l := randLayer(r, n, o, seed%2 == 0)
		// Fit sets of more tokens than channels: with fewer the refit
		// interpolates them, r is all cancellation, and its float32 sums
		// keep fewer digits than the tolerance (as the seed's d would on
		// a layer that annihilates its input).
		batches := randBatches(r, n, n+1+int(tokens)%40, 1+int(tokens/3)%17)
		fit := batches
		if heldOut {
			fit = randBatches(r, n, n+1+int(tokens)%50)
		}
		for _, set := range [][][]float32{batches, fit} {
			for _, x := range set {
				for i := range x {
					x[i] += float32(i%n) * 0.5 // channel means
				}
			}
		}
		scores := randScores(r, n)
		rat := float64(ratio) / 255
		d := []float64{0.01, 0.1, 1}[int(damp)%3]
		e, err := NewEvaluator(l)
		if err != nil {
			t.Fatal(err)
		}
		pruned, _ := PrunedChannels(scores, rat)
		mask := make([]bool, n)
		for _, c := range pruned {
			mask[c] = true
		}
		for _, mode := range []Compensation{CompensateNone, CompensateBias, CompensateLstsq} {
			rep := Repair{Mode: mode, Damp: d}
			if heldOut {
				rep.Fit = e.NewFit()
				for _, x := range fit {
					if err := rep.Fit.Observe(x); err != nil {
						t.Fatal(err)
					}
				}
			}
			m, err := e.EvaluateRepaired(batches, scores, rat, rep)
			if errors.Is(err, ErrNotPositiveDefinite) {
				continue
			}
			if err != nil {
				t.Fatalf("%v: %v", mode, err)
			}
			rmse, cos, ok := refRepaired(l, batches, fit, mask, mode, d)
			if !ok {
				continue
			}
			// The RMSE is formed from the residual directly and held to
			// 1e-4. The cosine needs the repaired output itself, formed in
			// float32 from x_K·W_K' and b', which cancel where a repair
			// fitted on a few held-out tokens extrapolates: a looser bound,
			// growing with the RMSE (the inputs' y is of order 1).
			if !within(m.RMSE-rmse, 1e-4*rmse+1e-6) || !within(m.CosineSimilarity-cos, 1e-3*(1+rmse)) {
				t.Fatalf("%d→%d ratio %v damp %v %v held-out %v: rmse %.9g cos %.9g, reference %.9g %.9g",
					n, o, rat, d, mode, heldOut, m.RMSE, m.CosineSimilarity, rmse, cos)
			}
		}
	})
}
