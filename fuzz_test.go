package chanprune

import (
	"errors"
	"math"
	"testing"
)

// FuzzEvaluate holds Evaluate to the float64 reference on small shapes: the
// fuzz input picks the shape, the ratio, the bias, a seed for the values and
// the scores, quantised to a few levels so that ties and infinities are
// common.
func FuzzEvaluate(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(1), uint8(1), uint8(128), true, uint64(1), []byte{0})
	f.Add(uint8(17), uint8(33), uint8(3), uint8(5), uint8(104), true, uint64(2), []byte{1, 1, 2, 0, 255, 3})
	f.Add(uint8(8), uint8(9), uint8(2), uint8(4), uint8(255), false, uint64(3), []byte{7, 7, 7})
	f.Add(uint8(9), uint8(7), uint8(5), uint8(3), uint8(0), true, uint64(4), []byte{})
	f.Fuzz(func(t *testing.T, in, out, nb, tokens, ratio uint8, bias bool, seed uint64, levels []byte) {
		n, o := 1+int(in)%40, 1+int(out)%40
		r := newRand(seed)
		l := randLayer(r, n, o, bias)
		sizes := make([]int, 1+int(nb)%4)
		for i := range sizes {
			sizes[i] = 1 + (int(tokens)+3*i)%11
		}
		batches := randBatches(r, n, sizes...)
		scores := make([]float32, n)
		for c := range scores {
			if len(levels) > 0 {
				scores[c] = level(levels[c%len(levels)])
			}
		}
		rt := float64(ratio) / 255
		got, err := Evaluate(l, batches, scores, rt)
		if err != nil {
			if errors.Is(err, ErrNonFinite) {
				t.Skip("overflow")
			}
			t.Fatal(err)
		}
		if want := refEval(l, batches, scores, rt); !want.within(got) {
			t.Fatalf("%d→%d %v ratio %v: got %v %v %d, want %v %v %d (tolerance %v)", n, o, sizes, rt,
				got.RMSE, got.CosineSimilarity, got.NumPruned, want.RMSE, want.CosineSimilarity, want.NumPruned, want.tol)
		}
	})
}

// level maps a byte to a score: mostly a handful of values, and ±Inf.
func level(b byte) float32 {
	switch b {
	case 255:
		return float32(math.Inf(1))
	case 254:
		return float32(math.Inf(-1))
	}
	return float32(b%5) - 2
}
