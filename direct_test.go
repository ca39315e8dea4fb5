package chanprune

import (
	"fmt"
	"testing"
)

// TestGridSplitsOneBatch checks how a batch is cut into pieces: every
// (weight panel, token panel) tile in exactly one piece, no chunk wider than
// chunkOutputs, and a batch with batchPieces·pieceMACs of work or more in at
// least batchPieces pieces whatever its out, so that one batch of a small
// layer (a Stream fed batch by batch) keeps every core busy. The grid is a
// function of the shape alone: run gets the same pieces at any worker count.
func TestGridSplitsOneBatch(t *testing.T) {
	shapes := []struct{ in, out, tokens int }{
		{1024, 256, 128}, // a 1024→256 layer, as the issue measured it
		{4096, 1024, 128},
		{4096, 8, 512}, // one weight panel: only spans can split it
		{1024, 4096, 1},
		{70, 700, 9},
		{64, 32, 0},
		{5000, 5000, 100},
	}
	for _, k := range Kernels() {
		for _, s := range shapes {
			t.Run(fmt.Sprintf("%s/%d→%d×%d", k.Name, s.in, s.out, s.tokens), func(t *testing.T) {
				kern := k.kernel
				e := &Evaluator{in: s.in, out: s.out, kern: kern}
				l := newRowLayout(kern, s.tokens)
				g := e.grid(l)
				wp, tp := panels(s.out, kern.nr), l.count()
				if g.cp*kern.nr > max(chunkOutputs, kern.nr) {
					t.Errorf("chunk of %d outputs, want at most %d", g.cp*kern.nr, chunkOutputs)
				}
				if macs := s.tokens * s.in * s.out; macs >= batchPieces*pieceMACs && g.pieces() < batchPieces {
					t.Errorf("%d pieces for %d multiply-adds, want at least %d", g.pieces(), macs, batchPieces)
				}
				seen := make([]int, wp*tp)
				for p := range g.pieces() {
					c, sp := p/g.spans, p%g.spans
					tiles := 0
					for j := c * g.cp; j < min((c+1)*g.cp, wp); j++ {
						for i := sp * g.sp; i < min((sp+1)*g.sp, tp); i++ {
							seen[j*tp+i]++
							tiles++
						}
					}
					if tiles == 0 && tp > 0 {
						t.Errorf("grid %+v: piece %d is empty", g, p)
					}
				}
				for tile, n := range seen {
					if n != 1 {
						t.Fatalf("grid %+v: tile (panel %d, token panel %d) in %d pieces", g, tile/tp, tile%tp, n)
					}
				}
			})
		}
	}
}

// TestBatchRunsKeepEachBatchsSums checks that evaluating batches together
// (batchRuns) changes no batch's sums by a bit: each batch's metrics equal
// those of the batch evaluated alone, whatever the worker count and so
// whichever runs the batches were cut into, runs ending where the batch
// size changes.
func TestBatchRunsKeepEachBatchsSums(t *testing.T) {
	r := newRand(11)
	l := randLayer(r, 24, 100, true)
	scores := randScores(r, l.In)
	tokens := make([]int, 3*groupTokens/16+5)
	for b := range tokens {
		tokens[b] = 16
	}
	tokens[40] = 9 // a run ends before it
	batches := randBatches(r, l.In, tokens...)
	alone, err := NewEvaluator(l, WithWorkers(1), WithMethod(Direct))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]BatchMetrics, len(batches))
	for b, x := range batches {
		var m Metrics
		if err := alone.EvaluateTo(&m, [][]float32{x}, scores, 0.3); err != nil {
			t.Fatal(err)
		}
		want[b] = m.PerBatch[0]
	}
	for _, workers := range []int{1, 2, 3, 7} {
		e, err := NewEvaluator(l, WithWorkers(workers), WithMethod(Direct))
		if err != nil {
			t.Fatal(err)
		}
		var m Metrics
		if err := e.EvaluateTo(&m, batches, scores, 0.3); err != nil {
			t.Fatal(err)
		}
		longest := 0
		for _, run := range e.runs {
			longest = max(longest, run.hi-run.lo)
			if run.lo <= 40 && 40 < run.hi && run.hi-run.lo > 1 {
				t.Errorf("%d workers: run %v holds batch 40 and another", workers, run)
			}
		}
		if workers <= 2 && longest != groupTokens/16 {
			t.Errorf("%d workers: longest run %d batches, want %d", workers, longest, groupTokens/16)
		}
		for b := range batches {
			if m.PerBatch[b] != want[b] {
				t.Errorf("%d workers, batch %d: %+v, alone %+v", workers, b, m.PerBatch[b], want[b])
			}
		}
	}
}

// TestPanelPrefetchCoversNextPanel checks the prefetch plan of a weight
// panel's passes: nothing until its last passes, then the next panel (the
// first after the last) cut into consecutive parts that cover it exactly,
// each with a step that keeps the kernel's stream inside it (evalFunc).
func TestPanelPrefetchCoversNextPanel(t *testing.T) {
	shapes := []struct{ in, out int }{{4096, 1024}, {1024, 4096}, {3, 40}, {1000, 7}, {64, 64}}
	for _, k := range Kernels() {
		for _, s := range shapes {
			for _, passes := range []int{1, 2, 3, 7, 8, 16, 17, 40} {
				kern := k.kernel
				np := panels(s.out, kern.nr)
				e := &Evaluator{in: s.in, out: s.out, kern: kern, weight: make([]float32, np*kern.nr*s.in)}
				size := s.in * kern.nr
				for _, j := range []int{0, np - 1} {
					name := fmt.Sprintf("%s/%d→%d/passes %d/panel %d", k.Name, s.in, s.out, passes, j)
					pre := e.prefetcher(j, passes)
					want := e.weight[(j+1)%np*size : ((j+1)%np+1)*size]
					covered, started := 0, false
					for p := range passes {
						pf, step := pre.pass(s.in)
						if len(pf) == 0 {
							if started && covered < len(want) {
								t.Fatalf("%s: pass %d prefetches nothing after others began", name, p)
							}
							continue
						}
						if !started && p < passes-panels(4*kern.nr, prefetchStep) {
							t.Fatalf("%s: pass %d prefetches, before the last passes", name, p)
						}
						started = true
						if covered >= len(want) || &pf[0] != &want[covered] {
							t.Fatalf("%s: pass %d does not prefetch from float %d of the next panel on", name, p, covered)
						}
						if step < 0 || (s.in-1)*step >= 4*len(pf) {
							t.Fatalf("%s: pass %d: step %d over %d K steps leaves its %d floats", name, p, step, s.in, len(pf))
						}
						covered += len(pf)
					}
					if covered != len(want) {
						t.Fatalf("%s: %d of the next panel's %d floats prefetched", name, covered, len(want))
					}
				}
			}
		}
	}
}
