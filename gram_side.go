package chanprune

// Batches side by side on the Gram path. Forming one batch's G in parallel
// costs a hand-over and a wait for the slowest worker at each of its three
// steps (packing, column sums, tile rows); with batches of a few hundred
// tokens those waits were a quarter of two cores' time (EvaluateAuto/seed:
// 1.36× from one core to two). Batches that small are instead contracted
// one per worker, each worker with its own scratch; every batch's sums are
// the same whichever worker forms them, so the results do not depend on
// the worker count.

// sideBatchFloats bounds the batches that runGram contracts one per worker:
// tokens·in floats at most, so that each worker's packed copy of its batch
// (twice that, gramBuilder) stays near its L2 cache and the workers' scratch
// stays small beside the layer. A larger batch has work enough to share.
const sideBatchFloats = 256 << 10

// sideCount returns how many of batches, from the first, go one per
// worker: a multiple of workers, so that the rest, fewer than workers, are
// shared among all of them batch by batch; none if any batch is larger
// than sideBatchFloats.
func sideCount(batches [][]float32, workers int) int {
	if workers < 2 {
		return 0
	}
	for _, x := range batches {
		if len(x) > sideBatchFloats {
			return 0
		}
	}
	return len(batches) - len(batches)%workers
}

// sideBySide returns sideCount and makes the workers' scratch.
func (gb *gramBatch) sideBySide(batches [][]float32, workers int) int {
	side := sideCount(batches, workers)
	for side > 0 && len(gb.side) < workers-1 {
		s := newGramScratch(gb.e)
		s.mask = gb.mask
		gb.side = append(gb.side, s)
	}
	return side
}

// sideBatch contracts batch b of the call on the slot's scratch alone.
func (gb *gramBatch) sideBatch(slot, b int) {
	s := gb.gramScratch
	if slot > 0 {
		s = gb.side[slot-1]
	}
	gb.sums[b], gb.vars[b] = s.batchSums(gb.call.batches[b], gb.call.k, 1)
}
