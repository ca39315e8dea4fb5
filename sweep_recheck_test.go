package chanprune

import (
	"fmt"
	"testing"

	"github.com/chanprune/chanprune/internal/seed"
)

// splitVariances bounds a pair's own variances: on a layer where the
// sweep's row-sum bound (sweepVariance) fails pairs that their own
// variances certify, the pair's kk and pp are at most those of the KP = 0
// end, kk+kp+pp is the same, and every weighted sum of the three is at
// most the larger of the two ends'; and the two ends certify every pair
// that its own variances certify, so no pair there needs a recheck.
func TestSplitVariancesBoundEachPair(t *testing.T) {
	ex := seed.New(256, 256, 20, 128, 3)
	l := Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
	var sets []ScoreSet
	for i := range 5 {
		sets = append(sets, ScoreSet{fmt.Sprint(i), ex.RandomScores(uint64(i))})
	}
	e, err := NewEvaluator(l, WithMethod(Gram), WithWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.NewStream(sets, []float64{0.05, 0.3, 0.6, 0.75, 0.9})
	if err != nil {
		t.Fatal(err)
	}
	e.setGramMask()
	sg := newSweepGram(s, newGramScratch(e))
	looseFails := 0
	r := newRand(59)
	for _, x := range ex.Batches {
		sg.ready()
		sg.observe(x, 2) // sets c, w, wdiag, r, a, dw and the scratch's colSum, diag
		for p, point := range s.points {
			order := s.orders[p/len(s.ratios)][:point.NumPruned]
			var w, a, dw float64
			clear(sg.mask)
			for _, q := range order {
				w += sg.w[q]
				a += e.layerGram.diag[q] * sg.diag[q]
				dw += sg.wdiag[q]
				sg.mask[q] = 1
			}
			sums, v := sg.batchSums(x, len(order), 2)
			v0, v1 := sg.splitVariances(w, dw)
			rel := float64(len(sg.w)*len(sg.w)) * 0x1p-53 // the same float64 terms, added in other orders
			total, total0 := v.kk+v.kp+v.pp, v0.kk+v0.kp+v0.pp
			if v.kk > v0.kk*(1+rel) || v.pp > v0.pp*(1+rel) || total > total0*(1+rel) || total < total0*(1-rel) {
				t.Fatalf("pair %d: own variances %+v, bounds %+v", p, v, v0)
			}
			for range 8 {
				gk, gp, gq := r.Float64(), r.Float64(), r.Float64()
				own := gk*v.kk + gp*v.kp + gq*v.pp
				bound := max(gk*v0.kk+gp*v0.kp+gq*v0.pp, gk*v1.kk+gp*v1.kp+gq*v1.pp)
				if own > bound*(1+rel) {
					t.Fatalf("pair %d: weights %v %v %v: own %v, bound %v", p, gk, gp, gq, own, bound)
				}
			}
			if !certified(sums, sg.sweepVariance(w, a)) {
				looseFails++
			}
			if certified(sums, v) && !(certified(sums, v0) && certified(sums, v1)) {
				t.Errorf("pair %d: certified by its own variances, not by the two ends", p)
			}
		}
	}
	if looseFails == 0 {
		t.Fatal("the row-sum bound failed no pair: the layer no longer tests what the split bound adds")
	}
}
