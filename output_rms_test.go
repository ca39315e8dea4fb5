package chanprune

import (
	"math"
	"testing"
)

// refOutputRMS is the float64 truth of Metrics.OutputRMS: per batch
// sqrt(mean(y²)) of the unpruned output, averaged over the batches.
func refOutputRMS(l Linear, batches [][]float32) float64 {
	var sum float64
	for _, x := range batches {
		tokens := len(x) / l.In
		var yy float64
		for t := range tokens {
			for o := range l.Out {
				var y float64
				if len(l.Bias) > 0 {
					y = float64(l.Bias[o])
				}
				for c := range l.In {
					y += float64(x[t*l.In+c]) * float64(l.Weight[o*l.In+c])
				}
				yy += y * y
			}
		}
		sum += math.Sqrt(yy / float64(tokens*l.Out))
	}
	return sum / float64(len(batches))
}

// Evaluate and Sweep carry the original output's RMS, on both paths and at
// every ratio, the pruning notwithstanding.
func TestOutputRMS(t *testing.T) {
	r := newRand(18)
	for _, tc := range referenceCases {
		l := randLayer(r, tc.in, tc.out, tc.bias)
		batches := randBatches(r, tc.in, tc.tokens...)
		sets := []ScoreSet{{"a", randScores(r, tc.in)}, {"b", randScores(r, tc.in)}}
		want := refOutputRMS(l, batches)
		for _, method := range []Method{Direct, Gram} {
			if method == Gram && tc.in > tc.out {
				continue
			}
			e, err := NewEvaluator(l, WithMethod(method))
			if err != nil {
				t.Fatal(err)
			}
			m, err := e.Evaluate(batches, sets[0].Scores, tc.ratio)
			if err != nil {
				t.Fatal(err)
			}
			got := []float64{m.OutputRMS}
			points, err := e.Sweep(batches, sets, []float64{0, tc.ratio, 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range points {
				got = append(got, p.OutputRMS)
			}
			for i, g := range got {
				if !within(g-want, 1e-5*want) {
					t.Errorf("%v %d→%d result %d: output rms %v, want %v", method, tc.in, tc.out, i, g, want)
				}
			}
		}
	}
}
