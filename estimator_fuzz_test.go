package chanprune

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
)

// FuzzEstimators runs every estimator on small layers and batches decoded
// from the input: values with zeros, subnormals and ties (fuzzFloats), a
// mix of three-dimensional and [tokens, in] shapes, read in either layout,
// and one batch of any shape at all. Every estimator must refuse the bad batch with one of the
// package's errors, score every channel with no NaN (obs may instead refuse
// a numerically singular S + λI with ErrNotPositiveDefinite) (iterative: a
// permutation of the positions once all batches are in), and give bitwise
// the same scores when saved and resumed at any batch.
func FuzzEstimators(f *testing.F) {
	f.Add(uint8(3), uint8(2), uint8(2), uint8(1), uint8(3), uint8(1), uint64(1), []byte{0x3f, 0x80, 0, 0})
	f.Add(uint8(1), uint8(1), uint8(0), uint8(0), uint8(0), uint8(0), uint64(2), []byte{})
	f.Add(uint8(11), uint8(7), uint8(3), uint8(2), uint8(5), uint8(4), uint64(3), []byte{0, 0, 0, 1, 0xbf, 0x7f, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in, out, seq, batch, batches, cut uint8, seed uint64, data []byte) {
		n := 1 + int(in)%12
		l := randLayer(newRand(seed), n, 1+int(out)%12, seed%2 == 0)
		vals := &fuzzFloats{data: data}
		list := make([]shaped, 1+int(batches)%6)
		for i := range list {
			s, b := 1+(int(seq)+i)%4, 1+(int(batch)+i)%3
			shape := []int{s, b, n}
			if (int(seq)+i)%3 == 0 {
				shape = []int{s * b, n}
			}
			x := make([]float32, s*b*n)
			for j := range x {
				x[j] = vals.next()
			}
			list[i] = shaped{x, shape}
		}
		bad := shaped{make([]float32, len(data)%7), make([]int, len(data)%5)}
		for d := range bad.shape {
			bad.shape[d] = int(int8(vals.next()*3)) % 6
		}
		for _, name := range EstimatorNames() {
			opts := estimatorOptions(name, len(list), l.In)
			opts.Layout = Layouts()[seed>>1%2]
			whole := mustEstimator(t, name, l, opts)
			if err := whole.Observe(bad.x, bad.shape); err != nil &&
				!errors.Is(err, ErrShape) && !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrNonFinite) {
				t.Fatalf("%s: shape %v: %v", name, bad.shape, err)
			}
			whole = mustEstimator(t, name, l, opts)
			observeAll(t, whole, list)
			scores, err := whole.Scores()
			if name == "obs" && errors.Is(err, ErrNotPositiveDefinite) {
				// obs's contract, as lstsq's: a system S + λI that is not
				// numerically positive definite is refused, naming damp
				// (here: activations near 1e-22, whose float32 squares
				// underflow, leave S rounding noise).
				continue
			}
			if err != nil {
				t.Fatalf("%s: Scores: %v", name, err)
			}
			if len(scores) != n || slices.ContainsFunc(scores, func(v float32) bool { return math.IsNaN(float64(v)) }) {
				t.Fatalf("%s: scores %v", name, scores)
			}
			if name == "iterative" {
				positions := slices.Sorted(slices.Values(scores))
				for i, p := range positions {
					if p != float32(i) {
						t.Fatalf("iterative: scores %v are not the positions 0…%d", scores, n-1)
					}
				}
			}
			first := mustEstimator(t, name, l, opts)
			at := int(cut) % (len(list) + 1)
			observeAll(t, first, list[:at])
			var state bytes.Buffer
			if err := first.Save(&state); err != nil {
				t.Fatal(err)
			}
			resumed, err := LoadEstimator(&state, l)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			observeAll(t, resumed, list[at:])
			if got := mustScores(t, resumed); !sameBits(got, scores) {
				t.Fatalf("%s resumed at batch %d: %v, want %v", name, at, got, scores)
			}
		}
	})
}
