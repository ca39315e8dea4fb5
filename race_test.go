//go:build race

package chanprune

import (
	"sync"
	"testing"
)

// Two workers writing neighbouring tiles of one C at once is how the
// products share their output; race.go must report only each tile's rows,
// or the race detector would flag this as a race.
func TestRaceWrapNeighbourTiles(t *testing.T) {
	forEachTile(t, func(t *testing.T, k *kernel) {
		const depth = 5
		a, w := make([]float32, depth*k.mr), make([]float32, depth*k.nr)
		bias := make([]float32, k.nr)
		ldc := 2 * k.nr
		c := make([]float32, k.mr*ldc)
		var wg sync.WaitGroup
		for j := range 2 {
			tile := c[j*k.nr:]
			wg.Add(1)
			go func() {
				defer wg.Done()
				k.gemm(a, w, depth, bias, tile, ldc, k.mr, k.nr)
				k.gemmAcc(a, w, depth, tile, ldc, k.mr, k.nr)
			}()
		}
		wg.Wait()
	})
}
