package chanprune

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// Each kernel's small-T products match the generic twin's for every token
// count, depth 0 to a few hundred, and column tails, with rows of x longer
// than depth; and each 16-bit product gives the bits its float32 product
// gives on the widened panel.
func TestGemvKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k *kernel) {
		if len(k.gemv32) == 0 {
			t.Skipf("kernel %s has no small-T products", k.name)
		}
		twin := twinOf(k)
		r := newRand(17)
		for tokens := 1; tokens <= len(k.gemv32); tokens++ {
			for _, depth := range []int{0, 1, 7, 64, 301} {
				for _, n := range []int{k.nr, k.nr - 1, 1} {
					ldx, ldc := depth+3, n+5
					x := uniform(r, (tokens-1)*ldx+depth, 1)
					bias := uniform(r, k.nr, 1)
					w32 := uniform(r, depth*k.nr, 1)
					for _, f := range []WeightFormat{Float32, BFloat16, Float16} {
						w16 := make([]uint16, len(w32))
						wide := slices.Clone(w32)
						if f != Float32 {
							k.pack16(w16, w32, f)
							k.unpack16(wide, w16, f)
						}
						name := fmt.Sprintf("%v t=%d depth=%d n=%d", f, tokens, depth, n)
						got := runGemv(k, f, tokens, x, ldx, wide, w16, depth, bias, ldc, n)
						want := runGemv(twin, f, tokens, x, ldx, wide, w16, depth, bias, ldc, n)
						for i := range got {
							if math.Abs(float64(got[i]-want[i])) > dotError(depth+1, float64(depth+1)) {
								t.Fatalf("%s: c[%d] = %v, twin %v", name, i, got[i], want[i])
							}
							if i%ldc >= n && got[i] != -7 {
								t.Fatalf("%s: c[%d] past n written", name, i)
							}
						}
						if f != Float32 {
							if w := runGemv(k, Float32, tokens, x, ldx, wide, nil, depth, bias, ldc, n); !slices.Equal(got, w) {
								t.Fatalf("%s: differs from the float32 product of the widened panel", name)
							}
						}
					}
				}
			}
		}
	})
}

// runGemv runs kernel k's small-T product for format f into a fresh
// [tokens, ldc] c filled with −7 (c ends right after the last output).
func runGemv(k *kernel, f WeightFormat, tokens int, x []float32, ldx int, w32 []float32, w16 []uint16, depth int, bias []float32, ldc, n int) []float32 {
	c := make([]float32, (tokens-1)*ldc+n)
	for i := range c {
		c[i] = -7
	}
	switch f {
	case Float32:
		k.gemv32[tokens-1](x, ldx, w32, depth, bias, c, ldc, n)
	case BFloat16:
		k.gemvBF16[tokens-1](x, ldx, w16, depth, bias, c, ldc, n)
	case Float16:
		k.gemvF16[tokens-1](x, ldx, w16, depth, bias, c, ldc, n)
	}
	return c
}

// A 16-bit Layer's output equals, bit for bit, that of a float32 Layer
// built from the widened weights, for every kernel, on the small-T path and
// on gemm, dense and pruned; both are the layer's product.
func TestLayerWeightFormats(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k *kernel) {
		r := newRand(18)
		in, out := 70, 2*k.nr+3
		l := randLayer(r, in, out, true)
		scores := randScores(r, in)
		for _, f := range []WeightFormat{BFloat16, Float16} {
			for _, ratio := range []float64{0, 0.4} {
				narrowed, err := CompactByScores(l, scores, ratio, WithKernel(k.name), WithWeightFormat(f))
				if err != nil {
					t.Fatal(err)
				}
				if narrowed.Format() != f {
					t.Fatalf("Format() = %v, want %v", narrowed.Format(), f)
				}
				// The float32 layer of the widened weights, full width.
				wide := Linear{In: in, Out: out, Bias: l.Bias, Weight: slices.Clone(l.Weight)}
				for i, v := range wide.Weight {
					h, _ := narrow(f, v)
					wide.Weight[i] = widen(f, h)
				}
				ref, err := Compact(wide, narrowed.Kept(), WithKernel(k.name))
				if err != nil {
					t.Fatal(err)
				}
				if ratio > 0 {
					// Several K blocks, each widened on its own (product.block).
					narrowed.prod.kc, ref.prod.kc = 16, 16
				}
				if !slices.Equal(narrowed.Weight(), ref.Weight()) {
					t.Fatalf("%v: Weight() differs from the widened weight", f)
				}
				for _, tokens := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 128} {
					x := randBatches(r, in, tokens)[0]
					got, want := make([]float32, tokens*out), make([]float32, tokens*out)
					if err := narrowed.Forward(got, x); err != nil {
						t.Fatal(err)
					}
					if err := ref.Forward(want, x); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("%v ratio %v T%d: output differs from the float32 layer of the widened weights", f, ratio, tokens)
					}
					checkForward(t, wide, narrowed.Kept(), x, got)
				}
			}
		}
	})
}
