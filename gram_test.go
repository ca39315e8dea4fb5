package chanprune

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

func TestGramBuilder(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(15)
		for _, sh := range [][2]int{{1, 1}, {3, 5}, {300, 17}, {40, 70}, {600, 33}, {256, 9}, {257, 9}} {
			rows, in := sh[0], sh[1]
			x := randBatches(r, in, rows)[0]
			g, colSum := make([]float32, in*in), make([]float64, in)
			newGramBuilder(kern, in).fuse(colSum, make([]float64, in), x, 3, nil, func(i0, m, c0 int, strip []float32, ld int) {
				for r := range m {
					i := i0 + r
					if start := max(c0, i); start < min(in, c0+ld) {
						copy(g[i*in+start:i*in+min(in, c0+ld)], strip[r*ld+start-c0:])
					}
				}
			})
			for c := range in {
				var want float64
				for t := range rows {
					want += float64(x[t*in+c])
				}
				if colSum[c] != want {
					t.Fatalf("%v: column sum %d = %v, want %v", sh, c, colSum[c], want)
				}
			}
			for i := range in {
				for j := i; j < in; j++ {
					var want, abs float64
					for t := range rows {
						v := float64(x[t*in+i]) * float64(x[t*in+j])
						want += v
						abs += math.Abs(v)
					}
					// γ(gramRows) within each block, and the final rounding to float32.
					tol := dotError(min(rows, gramRows), abs) + unitRoundoff*math.Abs(want)
					if !within(float64(g[i*in+j])-want, tol) {
						t.Fatalf("%v: G[%d,%d] = %v, want %v ± %v", sh, i, j, g[i*in+j], want, tol)
					}
				}
			}
		}
	})
}

// Building H takes H, G and scratch of a few blocks of gramRows rows: no
// copy of the out×in weight, no float64 in×in accumulator.
func TestLayerGramMemory(t *testing.T) {
	const in, out = 64, 8192
	l := randLayer(newRand(17), in, out, true)
	e, err := NewEvaluator(l, WithWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e.buildLayerGram()
	runtime.ReadMemStats(&after)
	got := after.TotalAlloc - before.TotalAlloc
	limit := uint64(2*in*in*4 + 4*gramRows*in*4 + 64<<10)
	if got > limit {
		t.Errorf("building H for %d→%d allocated %d bytes, want at most %d (the weight is %d)", in, out, got, limit, in*out*4)
	}
	// H itself, against float64 (as TestGramBuilder, blocks summed in float32).
	for i := range in {
		for j := range in {
			var want, abs float64
			for o := range out {
				v := float64(l.Weight[o*in+i]) * float64(l.Weight[o*in+j])
				want += v
				abs += math.Abs(v)
			}
			tol := dotError(gramRows, abs) + dotError(panels(out, gramRows), abs)
			if h := float64(e.layerGram.h[i*in+j]); !within(h-want, tol) {
				t.Fatalf("H[%d,%d] = %v, want %v ± %v", i, j, h, want, tol)
			}
		}
	}
}

// The planner counts building H for a single Evaluate or Sweep: a batch
// where Gram is cheaper once H is built, but not with it, goes Direct until
// H exists. A stream goes Direct until direct has cost as much as building H.
func TestPlanCountsBuildingH(t *testing.T) {
	const in, out, tokens = 64, 8192, 32
	l := randLayer(newRand(18), in, out, false)
	batches := randBatches(newRand(19), in, tokens)
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		e, err := NewEvaluator(l, WithKernel(kern.name))
		if err != nil {
			t.Fatal(err)
		}
		if m := e.plan(batches, 1, 1, false); m != Direct {
			t.Errorf("first Evaluate plans %v, want Direct: building H costs more than the product", m)
		}
		var spent float64
		var methods []Method
		for range 3 {
			m := e.planStream(batches, 1, 1, &spent)
			if m == Gram && e.layerGram == nil {
				e.buildLayerGram()
			}
			methods = append(methods, m)
		}
		// Direct costs tokens·in·out = out·in²/2 a batch: the first batch pays for H.
		if methods[0] != Direct || methods[1] != Gram || methods[2] != Gram {
			t.Errorf("a stream plans %v, want Direct until direct has cost as much as H, then Gram", methods)
		}
		if m := e.plan(batches, 1, 1, false); m != Gram {
			t.Errorf("with H built, Evaluate plans %v, want Gram", m)
		}
	})
}

// A layer wider than tall (in > out): one evaluation plans Direct, as G
// alone costs more than the product, but a sweep's 45 pairs share G and
// plan Gram, every point of it within the conformance tolerances of the
// same sweep on the direct path.
func TestPlanSweepsWideLayers(t *testing.T) {
	const in, out = 256, 64
	l := randLayer(newRand(21), in, out, true)
	batches := randBatches(newRand(22), in, 64, 64, 64, 64)
	var sets []ScoreSet
	for i := range 5 {
		sets = append(sets, ScoreSet{Name: fmt.Sprint(i), Scores: randScores(newRand(uint64(30+i)), in)})
	}
	ratios := []float64{0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 0.9}
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		e, err := NewEvaluator(l, WithKernel(kern.name))
		if err != nil {
			t.Fatal(err)
		}
		if m := e.plan(batches, 1, 1, false); m != Direct {
			t.Errorf("one evaluation plans %v, want Direct", m)
		}
		if m := e.plan(batches, len(sets)*len(ratios), len(sets), false); m != Gram {
			t.Errorf("a sweep of %d pairs plans %v, want Gram", len(sets)*len(ratios), m)
		}
		got, err := e.Sweep(batches, sets, ratios)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewEvaluator(l, WithKernel(kern.name), WithMethod(Direct))
		if err != nil {
			t.Fatal(err)
		}
		want, err := d.Sweep(batches, sets, ratios)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range got {
			if p.Method != Gram || !withinConformance(p.Metrics, want[i].Metrics) {
				t.Errorf("%s at %v: %v rmse %v cosine %v, want Gram within tolerance of direct's %v, %v",
					p.Set, p.Ratio, p.Method, p.RMSE, p.CosineSimilarity, want[i].RMSE, want[i].CosineSimilarity)
			}
		}
	})
}

// A sweep of a layer with few outputs plans Gram on the x86 kernels: its
// direct path packs the activations once per pair (directPackMACs), which
// costs more than its products. An AVX2 sweep of 45 pairs on 1024→8 in 16
// batches of 128 tokens took 72 ms direct against 21 ms Gram; before the
// packing term the planner took the direct path.
func TestPlanSweepsNarrowLayers(t *testing.T) {
	const in = 1024
	tokens := make([]int, 16)
	for i := range tokens {
		tokens[i] = 128
	}
	batches := randBatches(newRand(25), in, tokens...)
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		if kern.directPackMACs == 0 {
			t.Skip("no packing rate measured")
		}
		for _, out := range []int{8, 16} {
			e, err := NewEvaluator(randLayer(newRand(26), in, out, true), WithKernel(kern.name))
			if err != nil {
				t.Fatal(err)
			}
			if m := e.plan(batches, 45, 5, false); m != Gram {
				t.Errorf("%d→%d: a sweep of 45 pairs plans %v, want Gram", in, out, m)
			}
		}
	})
}

// The direct path computes whole weight panels, so the planner prices a
// layer of fewer outputs than a panel as a whole panel.
func TestDirectCostPadsPanels(t *testing.T) {
	batches := randBatches(newRand(23), 64, 16)
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		var costs []float64
		for _, out := range []int{1, kern.nr} {
			e, err := NewEvaluator(randLayer(newRand(24), 64, out, false), WithKernel(kern.name))
			if err != nil {
				t.Fatal(err)
			}
			costs = append(costs, e.directCost(batches, 3))
		}
		if want := float64(3 * 16 * 64 * (kern.nr + kern.directPackMACs)); costs[0] != want || costs[1] != want {
			t.Errorf("direct costs of 1 and %d outputs: %v, want %v both", kern.nr, costs, want)
		}
	})
}
