package chanprune

import (
	"math"
	"math/rand/v2"
	"testing"
)

// contractCase draws a row segment of n entries of H and G, a 0/1 mask
// and positive diagonals (float32 values, held as float64 as the Gram
// path holds them), with values from gen.
func contractCase(r *rand.Rand, n int, gen func() float32) (h, g []float32, mask, hd, gd []float64) {
	h, g, mask, hd, gd = make([]float32, n), make([]float32, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for j := range n {
		h[j], g[j] = gen(), gen()
		hd[j], gd[j] = math.Abs(float64(gen())), math.Abs(float64(gen()))
		if r.IntN(3) == 0 {
			mask[j] = 1
		}
	}
	return h, g, mask, hd, gd
}

// checkContract holds a kernel's contract to the float64 sums, which its
// own float64 operations in another order may miss by a few roundings per
// term and n·2⁻⁵³ of the sum of magnitudes; s starts nonzero, as the
// kernel adds to it. A variance term w = fg·h²·gd + fh·g²·hd is rounded
// in its two parts before they are added, so its magnitude is that of
// the parts (which cancel when fg and fh differ in sign). Where the row
// holds a NaN or an infinity the sums must be the same NaN or infinity.
func checkContract(t *testing.T, kern *kernel, h, g []float32, mask, hd, gd []float64, fg, fh float64) {
	t.Helper()
	start := sums{0.5, -1, 2, 3}
	var want, abs sums
	for j := range h {
		hv, gv, m := float64(h[j]), float64(g[j]), mask[j]
		v := hv * gv
		wg, wh := fg*hv*hv*gd[j], fh*gv*gv*hd[j]
		w, wAbs := wg+wh, math.Abs(wg)+math.Abs(wh)
		for i, x := range [4]float64{v, v * m, w, w * m} {
			want[i] += x
		}
		for i, x := range [4]float64{v, v * m, wAbs, wAbs * m} {
			abs[i] += math.Abs(x)
		}
	}
	got, twin := start, start
	kern.contract(h, g, mask, hd, gd, fg, fh, &got)
	contractGeneric(h, g, mask, hd, gd, fg, fh, &twin)
	for i := range want {
		tol := float64(len(h)+8)*0x1p-53*abs[i] + 0x1p-50*math.Abs(start[i])
		if !closeOrSame(got[i]-start[i], want[i], tol) || !closeOrSame(twin[i]-start[i], want[i], tol) {
			t.Fatalf("%s n=%d: s[%d] = %v, twin %v, want %v ± %v", kern.name, len(h), i, got[i]-start[i], twin[i]-start[i], want[i], tol)
		}
	}
}

func TestContractKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(23)
		normal := func() float32 { return float32(r.NormFloat64()) }
		for _, n := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 24, 31, 32, 64, 1000, 1003, 1016, 1023} {
			h, g, mask, hd, gd := contractCase(r, n, normal)
			// The inputs may be longer than h; a NaN past h's end in its
			// array and values past the others' would change the sums if
			// a kernel read them.
			nan := float32(math.NaN())
			h = append(h, nan, nan)[:n]
			g, mask, hd, gd = append(g, 1, 2), append(mask, 1, 1), append(hd, 3, 4), append(gd, 5, 6)
			checkContract(t, kern, h, g, mask, hd, gd, 0.75, 1.5)
		}
	})
}

// FuzzContractKernel runs every kernel's contract against the float64
// sums on rows decoded from the input, of any length.
func FuzzContractKernel(f *testing.F) {
	for _, n := range []uint16{0, 1, 2, 5, 13, 100} {
		f.Add(n, uint64(n), 0.5, 2.0, []byte{0x3f, 0x80, 0, 1, 0xbf, 0x7f, 0xff, 0xff})
	}
	f.Fuzz(func(t *testing.T, entries uint16, seed uint64, fg, fh float64, data []byte) {
		if !isFinite(fg) || !isFinite(fh) {
			t.Skip("fg and fh are finite on the Gram path")
		}
		forEachKernel(t, func(t *testing.T, kern *kernel) {
			vals := &fuzzFloats{data: data}
			h, g, mask, hd, gd := contractCase(newRand(seed), int(entries)%2048, vals.next)
			checkContract(t, kern, h, g, mask, hd, gd, fg, fh)
		})
	})
}
