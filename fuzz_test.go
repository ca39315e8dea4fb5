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

// fuzzFloats turns fuzz bytes into float32 values below 2 in magnitude:
// the raw bits with the exponent's top bit cleared, so zeros, subnormals
// and both signs all occur but never Inf, NaN or overflow.
type fuzzFloats struct {
	data []byte
	pos  int
}

func (f *fuzzFloats) next() float32 {
	return math.Float32frombits(uint32(f.bits(4)) &^ 0x40000000)
}

// bits returns the next n bytes (n ≤ 8), reused in a cycle, big-endian.
func (f *fuzzFloats) bits(n int) uint64 {
	var bits uint64
	for range n {
		bits <<= 8
		if len(f.data) > 0 {
			bits |= uint64(f.data[f.pos%len(f.data)])
			f.pos++
		}
	}
	return bits
}

// FuzzEvalKernel runs every evaluation kernel, one subtest each, against
// its generic twin and the float64 truth on tiles decoded from the input.
func FuzzEvalKernel(f *testing.F) {
	for _, sh := range [][3]uint8{{0, 0, 1}, {1, 1, 1}, {7, 3, 5}, {8, 0, 6}, {9, 9, 14}, {16, 15, 8}, {17, 1, 13}, {33, 16, 4}} {
		f.Add(sh[0], sh[1], sh[2], uint64(sh[0]), []byte{0x3f, 0x80, 0, 1, 0xbf, 0x7f, 0xff, 0xff})
	}
	f.Fuzz(func(t *testing.T, k, nk, m uint8, seed uint64, data []byte) {
		forEachKernel(t, func(t *testing.T, kern *kernel) {
			kk := int(k) % 70
			vals := &fuzzFloats{data: data}
			c := newEvalCase(newRand(seed), kern, kk+int(seed%5), kk, int(nk)%(kk+1), int(m)%(kern.mr+1), vals.next)
			truth, tol := c.bound(kern.mr, kern.nr)
			got, twin := runEval(t, kern.eval, c), runEval(t, twinOf(kern).eval, c)
			for s := range got {
				if !within(got[s]-truth[s], tol[s]) || !within(got[s]-twin[s], 2*tol[s]) {
					t.Fatalf("%s k=%d nk=%d m=%d: sum %d = %v, twin %v, truth %v ± %v",
						kern.name, kk, c.nk, c.m, s, got[s], twin[s], truth[s], tol[s])
				}
			}
		})
	})
}

// FuzzGemmKernel does the same for the dense product kernels, gemm and
// gemmAcc (on a C prefilled from the input) on the same operands, with
// guard zones around the output tile.
func FuzzGemmKernel(f *testing.F) {
	for _, sh := range [][4]uint8{{0, 1, 1, 0}, {1, 1, 1, 0}, {7, 5, 15, 1}, {8, 6, 16, 3}, {9, 14, 31, 0}, {17, 13, 33, 2}} {
		f.Add(sh[0], sh[1], sh[2], sh[3], []byte{0x3f, 0x80, 0, 1, 0xbf, 0x7f, 0xff, 0xff})
	}
	f.Fuzz(func(t *testing.T, k, m, n, pad uint8, data []byte) {
		forEachKernel(t, func(t *testing.T, kern *kernel) {
			twin := twinOf(kern)
			for _, acc := range []bool{false, true} {
				vals := &fuzzFloats{data: data}
				mm, nn := int(m)%(kern.mr+1), int(n)%(kern.nr+1)
				c := newGemmCase(kern, acc, int(k)%70, mm, nn, nn+int(pad)%4, vals.next)
				checkGemm(t, kern, c, runGemm(t, kern, c), runGemm(t, twin, c))
			}
		})
	})
}
