package chanprune

import (
	"math"
	"runtime"
	"slices"
	"testing"
)

// Each kernel's small-T products match the generic twin's for every token
// count, depth 0 to a few hundred, and column tails, with rows of x longer
// than depth; and each 16-bit product gives the bits its float32 product
// gives on the widened panel.
func TestGemvKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k *kernel) {
		r := newRand(17)
		gen := func() float32 { return float32(2*r.Float64() - 1) }
		for tokens := 1; tokens <= len(k.gemv32); tokens++ {
			for _, depth := range []int{0, 1, 3, 4, 7, 64, 301} {
				for _, n := range []int{k.nr, k.nr - 1, 1} {
					for _, f := range []WeightFormat{Float32, BFloat16, Float16} {
						checkGemv(t, k, newGemvCase(k, f, tokens, depth, n, gen))
					}
				}
			}
		}
	})
}

// FuzzGemvKernel does the same on operands decoded from the input: zeros,
// subnormals (which float16 rounds to its own or to zero) and both signs.
func FuzzGemvKernel(f *testing.F) {
	for _, sh := range [][4]uint8{{1, 0, 1, 0}, {1, 1, 1, 1}, {3, 7, 5, 2}, {8, 33, 31, 1}, {6, 69, 16, 0}} {
		f.Add(sh[0], sh[1], sh[2], sh[3], []byte{0x3f, 0x80, 0, 1, 0xbf, 0x7f, 0xff, 0xff})
	}
	f.Fuzz(func(t *testing.T, tokens, depth, n, format uint8, data []byte) {
		forEachKernel(t, func(t *testing.T, k *kernel) {
			vals := &fuzzFloats{data: data}
			c := newGemvCase(k, WeightFormat(format%3), 1+int(tokens)%len(k.gemv32), int(depth)%70, int(n)%(k.nr+1), vals.next)
			checkGemv(t, k, c)
		})
	})
}

// A gemvCase is one small-T product: t rows of x (stride ldx > depth), a
// panel of depth rows in format f, and c of stride ldc > n.
type gemvCase struct {
	f                          WeightFormat
	tokens, depth, n, ldx, ldc int
	x, bias, w32, wide         []float32
	w16                        []uint16
}

// newGemvCase draws the operands from gen in order: x, bias, then the
// panel, which it rounds to f in k's layout (wide is the panel widened).
func newGemvCase(k *kernel, f WeightFormat, tokens, depth, n int, gen func() float32) gemvCase {
	c := gemvCase{f: f, tokens: tokens, depth: depth, n: n, ldx: depth + 3, ldc: n + 5}
	fill := func(size int) []float32 {
		v := make([]float32, size)
		for i := range v {
			v[i] = gen()
		}
		return v
	}
	c.x, c.bias, c.w32 = fill((tokens-1)*c.ldx+depth), fill(k.nr), fill(depth*k.nr)
	c.wide, c.w16 = slices.Clone(c.w32), make([]uint16, len(c.w32))
	if f != Float32 {
		k.pack16(c.w16, c.w32, f)
		k.unpack16(c.wide, c.w16, f)
	}
	return c
}

// checkGemv holds k's product to the float64 sum and to the twin's within
// the error of a dot product, to the bits of k's float32 product of the
// widened panel for a 16-bit one, and checks that nothing past n is written.
func checkGemv(t *testing.T, k *kernel, c gemvCase) {
	t.Helper()
	got, twin := runGemv(k, c.f, c), runGemv(twinOf(k), c.f, c)
	for i := range c.tokens {
		for j := range c.ldc {
			at := i*c.ldc + j
			if at >= len(got) {
				break
			}
			if j >= c.n {
				if got[at] != -7 {
					t.Fatalf("%s %v t=%d depth=%d n=%d: c[%d, %d] past n written", k.name, c.f, c.tokens, c.depth, c.n, i, j)
				}
				continue
			}
			want, abs := float64(c.bias[j]), math.Abs(float64(c.bias[j]))
			for p := range c.depth {
				v := float64(c.x[i*c.ldx+p]) * float64(c.wide[p*k.nr+j])
				want += v
				abs += math.Abs(v)
			}
			tol := dotError(c.depth+1, abs)
			if g := float64(got[at]); !within(g-want, tol) || !within(g-float64(twin[at]), 2*tol) {
				t.Fatalf("%s %v t=%d depth=%d n=%d: c[%d, %d] = %v, twin %v, want %v ± %v",
					k.name, c.f, c.tokens, c.depth, c.n, i, j, got[at], twin[at], want, tol)
			}
		}
	}
	if c.f != Float32 {
		if w := runGemv(k, Float32, c); !slices.Equal(got, w) {
			t.Fatalf("%s %v t=%d depth=%d n=%d: differs from the float32 product of the widened panel",
				k.name, c.f, c.tokens, c.depth, c.n)
		}
	}
}

// runGemv runs kernel k's small-T product for format f (the case's panel
// widened for Float32) into a fresh c filled with −7 that ends right after
// the last output.
func runGemv(k *kernel, f WeightFormat, c gemvCase) []float32 {
	out := make([]float32, (c.tokens-1)*c.ldc+c.n)
	for i := range out {
		out[i] = -7
	}
	switch f {
	case Float32:
		k.gemv32[c.tokens-1](c.x, c.ldx, c.wide, c.depth, c.bias, out, c.ldc, c.n)
	case BFloat16:
		k.gemvBF16[c.tokens-1](c.x, c.ldx, c.w16, c.depth, c.bias, out, c.ldc, c.n)
	case Float16:
		k.gemvF16[c.tokens-1](c.x, c.ldx, c.w16, c.depth, c.bias, out, c.ldc, c.n)
	}
	return out
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

// Each kernel's widening kernels give, bit for bit, what unpack16 gives,
// for 0 to a few rows, on every 16-bit pattern that is finite.
func TestWidenKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k *kernel) {
		for _, f := range []WeightFormat{BFloat16, Float16} {
			kernelWiden := k.widenBF16
			if f == Float16 {
				kernelWiden = k.widenF16
			}
			for _, rows := range []int{0, 1, 3, 100} {
				src := make([]uint16, rows*k.nr)
				for i := range src {
					src[i] = uint16(i * 40503)
					if v := widen(f, src[i]); v != v || math.IsInf(float64(v), 0) {
						src[i] = 0x8001 // NaN or Inf in f: a subnormal instead
					}
				}
				got, want := make([]float32, len(src)+1), make([]float32, len(src))
				got[len(src)] = -7
				kernelWiden(got[:len(src)], src)
				k.unpack16(want, src, f)
				if !slices.Equal(got[:len(src)], want) || got[len(src)] != -7 {
					t.Fatalf("%v, %d rows: widened differently from unpack16 (or past the end)", f, rows)
				}
			}
		}
	})
}

// The small-T path cuts the weight into pieces of whole panels, about
// gemvPieceBytes each or one panel, that cover every panel once: small
// pieces let a worker that starts late take half of what is left.
func TestGemvGrid(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k *kernel) {
		for _, sh := range [][2]int{{0, 5}, {3, 1}, {384, 1536}, {3072, 768}, {1024, 4096}, {4096, 1024}, {4096, 4096}} {
			for _, f := range []WeightFormat{Float32, BFloat16} {
				p := &product{kern: k, out: sh[1], channels: make([]int32, sh[0]), format: f}
				g := p.gemvGrid()
				np, panel := panels(p.out, k.nr), f.size()*sh[0]*k.nr
				if g.spans != 1 || g.cp < 1 || g.pieces()*g.cp < np || (g.pieces()-1)*g.cp >= np {
					t.Fatalf("%v %dx%d: grid %+v does not cover %d panels once", f, sh[0], sh[1], g, np)
				}
				if bytes := g.cp * panel; g.cp > 1 && (bytes > gemvPieceBytes || bytes+panel <= gemvPieceBytes && g.cp < np) {
					t.Fatalf("%v %dx%d: pieces of %d panels of %d bytes, want about %d bytes or one panel",
						f, sh[0], sh[1], g.cp, panel, gemvPieceBytes)
				}
			}
		}
	})
}

// On the small-T path each slot gathers a pruned layer's kept channels
// itself, on its first piece of a call: calls of changing rows on several
// workers give the bits that the same rows compacted give.
func TestGemvGatherEachSlot(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	forEachKernel(t, func(t *testing.T, k *kernel) {
		r := newRand(19)
		in, out := 96, 1500
		l, err := CompactByScores(randLayer(r, in, out, true), randScores(r, in), 0.5, WithKernel(k.name), WithWorkers(4))
		if err != nil {
			t.Fatal(err)
		}
		if g := l.prod.gemvGrid(); g.pieces() < 4 {
			t.Fatalf("%d pieces, want 4 or more to share", g.pieces())
		}
		for round := range 40 {
			tokens := 1 + round%gemvMaxT
			x := randBatches(r, in, tokens)[0]
			compact := make([]float32, 0, tokens*len(l.kept))
			for i := range tokens {
				for _, c := range l.kept {
					compact = append(compact, x[i*in+c])
				}
			}
			got, want := make([]float32, tokens*out), make([]float32, tokens*out)
			if err := l.Forward(got, x); err != nil {
				t.Fatal(err)
			}
			if err := l.ForwardCompact(want, compact); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("call %d, T%d: Forward differs from ForwardCompact of the same rows", round, tokens)
			}
		}
	})
}
