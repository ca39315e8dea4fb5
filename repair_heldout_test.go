package chanprune

import (
	"math"
	"math/rand/v2"
	"testing"
)

// correlatedExample is a synthetic layer whose activations share a
// low-rank structure, as a transformer's do, so that the kept channels
// predict the pruned ones: x = z·M·diag(scale) + noise + mean, z of rank
// in/4, each channel's scale log-normal, its mean normal; the weight is
// nn.Linear's uniform init with log-normal column scales. It is NOT a
// trained layer: a stand-in where none is available offline.
func correlatedExample(r *rand.Rand, in, out, batches, tokens int) (Linear, [][]float32) {
	l := randLayer(r, in, out, true)
	for c := range in {
		f := float32(math.Exp(0.7 * r.NormFloat64()))
		for o := range out {
			l.Weight[o*in+c] *= f
		}
	}
	rank := in / 4
	mix := make([]float64, rank*in)
	for i := range mix {
		mix[i] = r.NormFloat64() / math.Sqrt(float64(rank))
	}
	scale, mean := make([]float64, in), make([]float64, in)
	for c := range in {
		scale[c], mean[c] = math.Exp(r.NormFloat64()), 0.5*r.NormFloat64()
	}
	out2 := make([][]float32, batches)
	z := make([]float64, rank)
	for b := range out2 {
		x := make([]float32, tokens*in)
		for t := range tokens {
			for i := range z {
				z[i] = r.NormFloat64()
			}
			for c := range in {
				var v float64
				for i, zi := range z {
					v += zi * mix[i*in+c]
				}
				x[t*in+c] = float32(scale[c]*(v+0.3*r.NormFloat64()) + mean[c])
			}
		}
		out2[b] = x
	}
	return l, out2
}

// TestOBSBeatsL2NormHeldOut: on held-out batches of the correlated
// stand-in layer, lstsq repair after obs's order leaves a smaller RMSE than
// after l2norm's, at ratios 0.25 and 0.5; and lstsq beats no repair.
// The numbers are logged (README, "Compensation").
func TestOBSBeatsL2NormHeldOut(t *testing.T) {
	const in, out = 192, 256
	l, batches := correlatedExample(newRand(23), in, out, 32, 128)
	fitBatches, heldOut := batches[:24], batches[24:]
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	fit := e.NewFit()
	scores := map[string][]float32{}
	for _, name := range []string{"l2norm", "obs"} {
		est, err := NewEstimator(name, l, EstimatorOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range fitBatches {
			if err := est.Observe(x, []int{len(x) / in, in}); err != nil {
				t.Fatal(err)
			}
		}
		if scores[name], err = est.Scores(); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range fitBatches {
		if err := fit.Observe(x); err != nil {
			t.Fatal(err)
		}
	}
	for _, ratio := range []float64{0.25, 0.5} {
		rmse := map[string]float64{}
		for name, s := range scores {
			for _, mode := range []Compensation{CompensateNone, CompensateLstsq} {
				m, err := e.EvaluateRepaired(heldOut, s, ratio, Repair{Mode: mode, Damp: DefaultDamp, Fit: fit})
				if err != nil {
					t.Fatal(err)
				}
				rmse[name+"+"+mode.String()] = m.RMSE
			}
		}
		t.Logf("ratio %v, held-out rmse: l2norm+none %.4g, l2norm+lstsq %.4g, obs+none %.4g, obs+lstsq %.4g (obs+lstsq %.1f%% below l2norm+lstsq)",
			ratio, rmse["l2norm+none"], rmse["l2norm+lstsq"], rmse["obs+none"], rmse["obs+lstsq"],
			100*(1-rmse["obs+lstsq"]/rmse["l2norm+lstsq"]))
		if rmse["obs+lstsq"] >= rmse["l2norm+lstsq"] || rmse["l2norm+lstsq"] >= rmse["l2norm+none"] {
			t.Errorf("ratio %v: %v", ratio, rmse)
		}
	}
}
