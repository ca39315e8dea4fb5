package chanprune

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// checkForward holds y ([T, Out]) to x_K·W_Kᵀ + b in float64 within the
// error of a dot product of len(keep)+1 terms.
func checkForward(t *testing.T, l Linear, keep []int, x, y []float32) {
	t.Helper()
	for ti := range len(x) / l.In {
		for o := range l.Out {
			var want, abs float64
			if len(l.Bias) > 0 {
				want, abs = float64(l.Bias[o]), math.Abs(float64(l.Bias[o]))
			}
			for _, c := range keep {
				v := float64(x[ti*l.In+c]) * float64(l.Weight[o*l.In+c])
				want += v
				abs += math.Abs(v)
			}
			if got := float64(y[ti*l.Out+o]); !within(got-want, dotError(len(keep)+1, abs)) {
				t.Fatalf("y[%d,%d] = %v, want %v", ti, o, got, want)
			}
		}
	}
}

func TestLayerForward(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k *kernel) {
		r := newRand(30)
		for _, sh := range [][3]int{{1, 1, 1}, {1, 40, 70}, {8, 33, 65}, {129, 64, 100}} {
			tokens, in, out := sh[0], sh[1], sh[2]
			l := randLayer(r, in, out, tokens%2 == 1)
			x := randBatches(r, in, tokens)[0]
			scores := randScores(r, in)
			for _, ratio := range []float64{0, 0.3, 1} {
				p, err := CompactByScores(l, scores, ratio, WithKernel(k.name))
				if err != nil {
					t.Fatal(err)
				}
				keep := p.Kept()
				pruned, _ := PrunedChannels(scores, ratio)
				if len(keep)+len(pruned) != in {
					t.Fatalf("kept %d + pruned %d channels of %d", len(keep), len(pruned), in)
				}
				y := make([]float32, tokens*out)
				if err := p.Forward(y, x); err != nil {
					t.Fatal(err)
				}
				checkForward(t, l, keep, x, y)

				// The same rows compacted give the same bits.
				xk := make([]float32, 0, tokens*len(keep))
				for ti := range tokens {
					for _, c := range keep {
						xk = append(xk, x[ti*in+c])
					}
				}
				yk := make([]float32, tokens*out)
				if len(keep) == 0 {
					xk = nil
				}
				if err := p.ForwardCompact(yk, xk); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(y, yk) {
					t.Errorf("%v ratio %v: ForwardCompact differs from Forward", sh, ratio)
				}
				// The compacted weight is W's kept columns.
				wk := p.Weight()
				for o := range out {
					for i, c := range keep {
						if wk[o*len(keep)+i] != l.Weight[o*in+c] {
							t.Fatalf("Weight()[%d,%d] = %v, want W[%d,%d] = %v", o, i, wk[o*len(keep)+i], o, c, l.Weight[o*in+c])
						}
					}
				}
			}
		}
	})
}

func TestDenseLayerMatchesLinear(t *testing.T) {
	r := newRand(31)
	l := randLayer(r, 50, 70, true)
	x := randBatches(r, 50, 20)[0]
	d, err := NewLayer(l)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, 20*70)
	if err := d.Forward(y, x); err != nil {
		t.Fatal(err)
	}
	all := make([]int, 50)
	for c := range all {
		all[c] = c
	}
	checkForward(t, l, all, x, y)
	if !slices.Equal(d.Bias(), l.Bias) {
		t.Error("Bias() differs from the layer's")
	}
}

func TestLayerConcurrentForward(t *testing.T) {
	r := newRand(32)
	l := randLayer(r, 64, 300, true)
	p, err := CompactByScores(l, randScores(r, 64), 0.25, WithWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	inputs := randBatches(r, 64, 1, 7, 30, 2, 14, 9, 1, 50)
	want := make([][]float32, len(inputs))
	for i, x := range inputs {
		want[i] = make([]float32, len(x)/64*300)
		if err := p.Forward(want[i], x); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i, x := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				y := make([]float32, len(want[i]))
				if err := p.Forward(y, x); err != nil || !slices.Equal(y, want[i]) {
					t.Errorf("input %d: concurrent Forward differs (%v)", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := forwardCalls.Load(); n != 0 {
		t.Errorf("%d Forward calls in flight after all returned", n)
	}
}

// TestForwardWorkerShare: a Forward call's workers are its share of
// GOMAXPROCS, the processors that the other calls in flight do not run on:
// all of them for a call alone, one once as many calls as processors are
// in flight, and never more than WithWorkers.
func TestForwardWorkerShare(t *testing.T) {
	p := runtime.GOMAXPROCS(0)
	free, bounded := &Layer{}, &Layer{workers: 3}
	for _, tc := range []struct{ calls, want int }{{1, p}, {2, max(1, p-1)}, {p, 1}, {2 * p, 1}} {
		if got := free.workerCount(tc.calls); got != tc.want {
			t.Errorf("%d calls on %d processors: %d workers, want %d", tc.calls, p, got, tc.want)
		}
		if got := bounded.workerCount(tc.calls); got != min(3, tc.want) {
			t.Errorf("WithWorkers(3), %d calls on %d processors: %d workers, want %d", tc.calls, p, got, min(3, tc.want))
		}
	}
}

func TestLayerForwardAllocatesNothing(t *testing.T) {
	r := newRand(33)
	l := randLayer(r, 128, 512, true)
	scores := randScores(r, 128)
	for _, f := range []WeightFormat{Float32, BFloat16, Float16} {
		p, err := CompactByScores(l, scores, 0.5, WithWorkers(2), WithWeightFormat(f))
		if err != nil {
			t.Fatal(err)
		}
		// 40 tokens run gemm, 3 the small-T path.
		for _, tokens := range []int{40, 3} {
			x := randBatches(r, 128, tokens)[0]
			y := make([]float32, tokens*512)
			if err := p.Forward(y, x); err != nil {
				t.Fatal(err)
			}
			if allocs := testing.AllocsPerRun(allocRuns, func() { p.Forward(y, x) }); allocs != 0 {
				t.Errorf("%v T%d: %v allocations per Forward, want 0", f, tokens, allocs)
			}
		}
	}
}

func TestLayerBadInputs(t *testing.T) {
	r := newRand(34)
	l := randLayer(r, 6, 4, true)
	for _, tc := range []struct {
		name string
		keep []int
	}{{"unsorted", []int{2, 1}}, {"repeated", []int{1, 1}}, {"negative", []int{-1}}, {"out of range", []int{6}}} {
		if _, err := Compact(l, tc.keep); !errors.Is(err, ErrShape) {
			t.Errorf("keep %s: got %v, want ErrShape", tc.name, err)
		}
	}
	if _, err := Compact(Linear{In: 2, Out: 2, Weight: []float32{1}}, []int{0}); !errors.Is(err, ErrShape) {
		t.Errorf("short weight: got %v, want ErrShape", err)
	}
	for _, in := range []int{-1, math.MaxInt / 2} { // NewLayer lists the In channels
		if _, err := NewLayer(Linear{In: in, Out: 2}); !errors.Is(err, ErrShape) {
			t.Errorf("NewLayer with In = %d and no weight: got %v, want ErrShape", in, err)
		}
	}
	if _, err := CompactByScores(l, []float32{1, 2, 3, 4, 5, float32(math.NaN())}, 0.5); !errors.Is(err, ErrNaNScore) {
		t.Errorf("NaN score: got %v", err)
	}
	if _, err := CompactByScores(l, make([]float32, 6), 1.5); !errors.Is(err, ErrRatio) {
		t.Errorf("ratio 1.5: got %v", err)
	}
	p, err := Compact(l, []int{0, 3, 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		dst, x []float32
		want   error
	}{
		{"no rows", make([]float32, 4), nil, ErrEmpty},
		{"ragged x", make([]float32, 4), make([]float32, 7), ErrShape},
		{"short dst", make([]float32, 3), make([]float32, 6), ErrShape},
		{"long dst", make([]float32, 12), make([]float32, 12), ErrShape},
	} {
		if err := p.Forward(tc.dst, tc.x); !errors.Is(err, tc.want) {
			t.Errorf("Forward %s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := p.ForwardCompact(make([]float32, 4), make([]float32, 6)); !errors.Is(err, ErrShape) {
		t.Errorf("ForwardCompact with full-width rows: got %v, want ErrShape", err)
	}
}

// TestLayerForwardRefusesOverlap: dst sharing memory with x is refused
// (ErrShape), not computed: at T ≤ 8 the small-T kernels read x while
// the output panels are written, so Forward(x, x) of a square layer
// returned other values than Forward(y, x).
func TestLayerForwardRefusesOverlap(t *testing.T) {
	r := newRand(35)
	l := randLayer(r, 20, 20, true)
	p, err := NewLayer(l)
	if err != nil {
		t.Fatal(err)
	}
	for _, tokens := range []int{1, 8, 9} {
		buf := randBatches(r, 20, 2*tokens)[0]
		n := tokens * 20
		for _, tc := range []struct {
			name   string
			dst, x []float32
		}{
			{"the same", buf[:n], buf[:n]},
			{"dst from x's second value", buf[1 : n+1], buf[:n]},
			{"x from dst's last value", buf[:n], buf[n-1 : 2*n-1]},
		} {
			for fname, forward := range map[string]func(dst, x []float32) error{"Forward": p.Forward, "ForwardCompact": p.ForwardCompact} {
				if err := forward(tc.dst, tc.x); !errors.Is(err, ErrShape) {
					t.Errorf("T%d %s, dst and x %s: got %v, want ErrShape", tokens, fname, tc.name, err)
				}
			}
		}
	}
	// Adjacent slices of one array do not overlap.
	buf := randBatches(r, 20, 2)[0]
	if err := p.Forward(buf[20:], buf[:20]); err != nil {
		t.Errorf("dst right after x: %v", err)
	}
}

// TestRepairedLayerKeepsItsWeight: RepairedLayer.Layer in a 16-bit format
// rounds a copy of the weight, never the RepairedLayer's own.
func TestRepairedLayerKeepsItsWeight(t *testing.T) {
	r := newRand(33)
	rl := RepairedLayer{In: 10, Out: 3, Kept: []int{1, 4, 7, 8}, Weight: uniform(r, 3*4, 1), Bias: uniform(r, 3, 1)}
	before := slices.Clone(rl.Weight)
	layer, err := rl.Layer(WithWeightFormat(BFloat16))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rl.Weight, before) {
		t.Error("Layer rounded the RepairedLayer's weight")
	}
	if got := layer.Weight(); slices.Equal(got, before) || len(got) != len(before) {
		t.Errorf("the layer's weight %v is not the bfloat16 rounding of %v", got, before)
	}
}
