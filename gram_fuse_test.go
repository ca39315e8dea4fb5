package chanprune

import (
	"math"
	"testing"
)

// fuse hands every entry of the upper triangle to the sink exactly once,
// equal to what build stores, with the column sums and the diagonal.
func TestGramBuilderFuse(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(31)
		for _, sh := range [][2]int{{1, 1}, {3, 5}, {40, 70}, {256, 300}, {100, 257}, {7, 600}} {
			rows, in := sh[0], sh[1]
			x := randBatches(r, in, rows)[0]
			want := make([]float32, in*in)
			gb := newGramBuilder(kern, in)
			gb.build(want, nil, x, 2)
			got, seen := make([]float32, in*in), make([]int, in*in)
			colSum, diag := make([]float64, in), make([]float32, in)
			gb.fuse(colSum, diag, x, 3, func(i0, m, c0 int, strip []float32, ld int) {
				for r := range m {
					i := i0 + r
					for c := max(c0, i); c < min(in, c0+ld); c++ {
						got[i*in+c] = strip[r*ld+c-c0]
						seen[i*in+c]++
					}
				}
			})
			for i := range in {
				var sum, sq float64
				for t := range rows {
					v := float64(x[t*in+i])
					sum += v
					sq += v * v
				}
				if colSum[i] != sum || diag[i] != float32(sq) {
					t.Fatalf("%v: channel %d: column sum %v, diagonal %v; want %v, %v", sh, i, colSum[i], diag[i], sum, float32(sq))
				}
				for j := i; j < in; j++ {
					if seen[i*in+j] != 1 || got[i*in+j] != want[i*in+j] {
						t.Fatalf("%v: G[%d,%d] handed over %d times, %v; build gives %v", sh, i, j, seen[i*in+j], got[i*in+j], want[i*in+j])
					}
				}
			}
		}
	})
}

// A batch of at most gramRows tokens is contracted strip by strip as G is
// formed; the sums and variances match the contraction of the stored G.
func TestGramFusedMatchesStored(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(37)
		const in, out = 300, 500
		e, err := NewEvaluator(randLayer(r, in, out, true), WithKernel(kern.name), WithMethod(Gram), WithWorkers(3))
		if err != nil {
			t.Fatal(err)
		}
		x := randBatches(r, in, 200)[0]
		scores := randScores(r, in)
		pruneOrder(e.order, scores)
		splitChannels(e.perm, e.order, 90, e.pruned)
		e.buildLayerGram()
		fused, fv := e.gramBatchSums(x, 90)
		gb := e.gram
		clear(gb.part)
		us, tb := e.gramInputs(x, false, false)
		gb.contract.do(in, 3, (*Evaluator).contractRow, e)
		stored, sv := e.contractedSums(us, tb, 90)
		for i := range fused {
			if d := math.Abs(fused[i] - stored[i]); d > 1e-6*math.Abs(stored[i]) {
				t.Errorf("sum %d: fused %v, stored %v", i, fused[i], stored[i])
			}
		}
		for i, pair := range [][2]float64{{fv.kk, sv.kk}, {fv.kp, sv.kp}, {fv.pp, sv.pp}} {
			if d := math.Abs(pair[0] - pair[1]); d > 1e-6*math.Abs(pair[1]) {
				t.Errorf("variance %d: fused %v, stored %v", i, pair[0], pair[1])
			}
		}
	})
}

// A sweep's G of at most gramRows tokens is formed by fuse and stored in
// both triangles: every entry equal to what build stores in the upper one.
func TestGramStoreStripFormsAllOfG(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(41)
		for _, sh := range [][2]int{{1, 1}, {9, 30}, {128, 300}, {256, 257}} {
			rows, in, out := sh[0], sh[1], sh[1]+3
			e, err := NewEvaluator(randLayer(r, in, out, false), WithKernel(kern.name), WithWorkers(3))
			if err != nil {
				t.Fatal(err)
			}
			x := randBatches(r, in, rows)[0]
			e.gramInputs(x, true, false)
			want := make([]float32, in*in)
			newGramBuilder(kern, in).build(want, nil, x, 1)
			for i := range in {
				for j := i; j < in; j++ {
					if g, gt := e.gram.g[i*in+j], e.gram.g[j*in+i]; g != want[i*in+j] || gt != want[i*in+j] {
						t.Fatalf("%v: G[%d,%d] = %v, G[%d,%d] = %v; build gives %v", sh, i, j, g, j, i, gt, want[i*in+j])
					}
				}
			}
		}
	})
}

// A stream of one pair (the CLI's eval) runs Evaluate's contraction: its
// metrics are Evaluate's, bit for bit, batch by batch.
func TestStreamOfOnePairIsEvaluate(t *testing.T) {
	r := newRand(43)
	const in, out = 200, 320
	l := randLayer(r, in, out, true)
	batches := randBatches(r, in, 64, 256, 300)
	scores := randScores(r, in)
	e, err := NewEvaluator(l, WithMethod(Gram), WithWorkers(3))
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.Evaluate(batches, scores, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	// A new Evaluator: the stream builds H itself.
	e, err = NewEvaluator(l, WithMethod(Gram), WithWorkers(3))
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.NewStream([]ScoreSet{{"s", scores}}, []float64{0.3})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range batches {
		if err := s.Observe(x); err != nil {
			t.Fatal(err)
		}
	}
	points, err := s.Result()
	if err != nil {
		t.Fatal(err)
	}
	got := points[0].Metrics
	for b := range batches {
		if got.PerBatch[b] != want.PerBatch[b] {
			t.Errorf("batch %d: stream %+v, Evaluate %+v", b, got.PerBatch[b], want.PerBatch[b])
		}
	}
	if got.Uncertified != want.Uncertified {
		t.Errorf("uncertified: stream %d, Evaluate %d", got.Uncertified, want.Uncertified)
	}
}

// Evaluating batches of at most gramRows tokens never stores G, so it
// takes no in×in memory for it.
func TestGramEvaluateStoresNoG(t *testing.T) {
	r := newRand(47)
	const in, out = 100, 150
	e, err := NewEvaluator(randLayer(r, in, out, true), WithMethod(Gram))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Evaluate(randBatches(r, in, 10, gramRows), randScores(r, in), 0.5); err != nil {
		t.Fatal(err)
	}
	if e.gram.g != nil {
		t.Errorf("G was allocated (%d floats) for batches of at most %d tokens", len(e.gram.g), gramRows)
	}
}
