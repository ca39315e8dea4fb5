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
