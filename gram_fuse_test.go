package chanprune

import (
	"math"
	"sort"
	"sync"
	"testing"
)

// gramReference forms the upper triangle of xᵀx as fuse must, tile by
// tile without strips: each block of gramRows rows a float32 product of
// the gemm kernel, the blocks summed in float64 and rounded once.
func gramReference(kern *kernel, x []float32, in int) []float32 {
	mr, nr := kern.mr, kern.nr
	rows := len(x) / in
	acc := make([]float64, in*in)
	tile, zeros := make([]float32, mr*nr), make([]float32, nr)
	for r0 := 0; r0 < rows; r0 += gramRows {
		n := min(rows-r0, gramRows)
		a, w := make([]float32, n*panels(in, mr)*mr), make([]float32, n*panels(in, nr)*nr)
		for t := range n {
			row := x[(r0+t)*in : (r0+t+1)*in]
			for c0 := 0; c0 < in; c0 += mr {
				copy(a[(c0*n + t*mr):][:mr], row[c0:])
			}
			for c0 := 0; c0 < in; c0 += nr {
				copy(w[(c0*n + t*nr):][:nr], row[c0:])
			}
		}
		for i0 := 0; i0 < in; i0 += mr {
			for j0 := i0 / nr * nr; j0 < in; j0 += nr {
				m, k := min(mr, in-i0), min(nr, in-j0)
				kern.gemm(a[i0*n:(i0+mr)*n], w[j0*n:(j0+nr)*n], n, zeros, tile, nr, m, k)
				for r := range m {
					for c := max(0, i0+r-j0); c < k; c++ {
						acc[(i0+r)*in+j0+c] += float64(tile[r*nr+c])
					}
				}
			}
		}
	}
	g := make([]float32, in*in)
	for i := range in {
		for j := i; j < in; j++ {
			g[i*in+j] = float32(acc[i*in+j])
		}
	}
	return g
}

// fuse hands every entry of the upper triangle to the sink exactly once,
// equal to gramReference's, with the column sums and the diagonal, for
// batches of one block of gramRows rows or several, tile row by tile row
// or in bands: each band's tile rows in order, from one worker.
func TestGramBuilderFuse(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(31)
		for k, sh := range [][2]int{{1, 1}, {3, 5}, {40, 70}, {256, 300}, {100, 257}, {7, 600}, {257, 40}, {600, 33}, {513, 70}} {
			rows, in := sh[0], sh[1]
			x := randBatches(r, in, rows)[0]
			want := gramReference(kern, x, in)
			gb := newGramBuilder(kern, in)
			got, seen := make([]float32, in*in), make([]int, in*in)
			colSum, diag := make([]float64, in), make([]float64, in)
			var bands []int
			lastRow := make(map[int]int) // per band: the tile row it formed last
			if k%2 == 1 {
				bands = tileBands(nil, in, kern.mr, 5)
			}
			var mu sync.Mutex
			gb.fuse(colSum, diag, x, 3, bands, func(i0, m, c0 int, strip []float32, ld int) {
				if bands != nil {
					mu.Lock()
					b := sort.SearchInts(bands, i0/kern.mr+1) - 1
					if last, ok := lastRow[b]; ok && last > i0/kern.mr {
						t.Errorf("%v: band %d formed tile row %d after %d", sh, b, i0/kern.mr, last)
					}
					lastRow[b] = i0 / kern.mr
					mu.Unlock()
				}
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
				if colSum[i] != sum || diag[i] != float64(float32(sq)) {
					t.Fatalf("%v: channel %d: column sum %v, diagonal %v; want %v, %v", sh, i, colSum[i], diag[i], sum, float32(sq))
				}
				for j := i; j < in; j++ {
					if seen[i*in+j] != 1 || got[i*in+j] != want[i*in+j] {
						t.Fatalf("%v: G[%d,%d] handed over %d times, %v; gramReference gives %v", sh, i, j, seen[i*in+j], got[i*in+j], want[i*in+j])
					}
				}
			}
		}
	})
}

// One evaluation contracts G strip by strip as it is formed, for a batch
// of one block of gramRows tokens or several; the sums and variances
// match the contraction of the stored G (a sweep's) row by row.
func TestGramFusedMatchesStored(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(37)
		const in, out = 300, 500
		e, err := NewEvaluator(randLayer(r, in, out, true), WithKernel(kern.name), WithMethod(Gram), WithWorkers(3))
		if err != nil {
			t.Fatal(err)
		}
		for _, tokens := range []int{200, 600} {
			x := randBatches(r, in, tokens)[0]
			scores := randScores(r, in)
			pruneOrder(e.order, scores)
			splitChannels(e.perm, e.order, 90, e.pruned)
			e.setGramMask()
			fused, fv := e.gram.batchSums(x, 90, 3)
			gb, lg := e.gram, e.layerGram
			clear(gb.part)
			us, tb := gb.form(x, 3, nil, func(int, int, int, []float32, int) {})
			g := gramReference(kern, x, in)
			for i := range in {
				fg, fh := gb.rounds*gb.diag[i], lg.rounds*lg.diag[i]
				kern.contract(lg.h[i*in+i+1:(i+1)*in], g[i*in+i+1:(i+1)*in],
					gb.mask[i+1:], lg.diag[i+1:], gb.diag[i+1:], fg, fh, &gb.part[i])
			}
			stored, sv := gb.contractedSums(us, tb, 90)
			for i := range fused {
				if !within(fused[i]-stored[i], 1e-6*math.Abs(stored[i])) {
					t.Errorf("%d tokens: sum %d: fused %v, stored %v", tokens, i, fused[i], stored[i])
				}
			}
			for i, pair := range [][2]float64{{fv.kk, sv.kk}, {fv.kp, sv.kp}, {fv.pp, sv.pp}} {
				if !within(pair[0]-pair[1], 1e-6*math.Abs(pair[1])) {
					t.Errorf("%d tokens: variance %d: fused %v, stored %v", tokens, i, pair[0], pair[1])
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
	got := streamed(t, e, batches, []ScoreSet{{"s", scores}}, []float64{0.3})[0].Metrics
	for b := range batches {
		if got.PerBatch[b] != want.PerBatch[b] {
			t.Errorf("batch %d: stream %+v, Evaluate %+v", b, got.PerBatch[b], want.PerBatch[b])
		}
	}
	if got.Uncertified != want.Uncertified {
		t.Errorf("uncertified: stream %d, Evaluate %d", got.Uncertified, want.Uncertified)
	}
}
