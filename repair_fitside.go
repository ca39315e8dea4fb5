package chanprune

// The fit pass with batches side by side. Formed one at a time on all the
// workers, a batch's Gram block costs a hand-over and a wait for the
// slowest worker at each of its steps (gram_side.go), and most of the fit
// pass's time was there (167-174 ms on the seed against 93-100 for an
// unrepaired evaluation, whose batches go side by side). Here a group of
// as many batches as workers is formed one per worker, each into a block
// of its own, and the group's blocks are then added to Σxᵀx a span of
// rows at a time, each row block by block in the order of the batches:
// the adds of the one-at-a-time pass in the same order, so the fit and the
// norms are the same to the bit for any number of workers.

// maxFitSideBytes bounds the blocks of a group (in²·4 bytes each, one per
// worker): past it the batches go one at a time.
const maxFitSideBytes = 64 << 20

// fitSide is fitWithNorms's scratch for a group side by side.
type fitSide struct {
	scratch []*gramScratch // per slot
	rows    [][]float32    // per slot: its batch's shifted rows
	sinks   []stripSink    // per slot: contract the strip and keep it in dest
	dest    [][]float32    // per slot: the block its sink writes
	blocks  [][]float32    // per batch of the group: its Gram block, in×in
	colSums [][]float64    // per batch of the group
	norms   []outputNorm   // per batch of the group
	group   [][]float32    // the group's batches, while it runs
	job     job[fitSide]
	e       *Evaluator
	fit     *Fit
}

// fitSideCount returns how many of batches, from the first, go side by
// side: a multiple of workers; none if a batch has more than gramRows rows
// or is larger than sideBatchFloats, or the group's blocks are too large.
func fitSideCount(batches [][]float32, in, workers int) int {
	if workers < 2 || 4*float64(in)*float64(in)*float64(workers) > maxFitSideBytes {
		return 0
	}
	for _, x := range batches {
		if len(x) > sideBatchFloats || len(x)/in > gramRows {
			return 0
		}
	}
	return len(batches) - len(batches)%workers
}

// sideState returns the side-by-side scratch for workers workers.
func (e *Evaluator) sideState(fit *Fit, workers int) *fitSide {
	rs := e.repairState()
	fs := &rs.side
	fs.e, fs.fit = e, fit
	for s := len(fs.scratch); s < workers; s++ {
		gs := e.gram.gramScratch
		if s > 0 {
			gs = newGramScratch(e)
		}
		fs.scratch = append(fs.scratch, gs)
		fs.rows = append(fs.rows, nil)
		fs.dest = append(fs.dest, nil)
		fs.sinks = append(fs.sinks, func(i0, m, c0 int, strip []float32, ld int) {
			gs.contractStrip(i0, m, c0, strip, ld)
			copyStrip(fs.dest[s], e.in, i0, m, c0, strip, ld)
		})
		fs.blocks = append(fs.blocks, make([]float32, e.in*e.in))
		fs.colSums = append(fs.colSums, make([]float64, e.in))
		fs.norms = append(fs.norms, outputNorm{})
	}
	return fs
}

// copyStrip copies the entries of a strip of G (stripSink) on and right of
// the diagonal to g, in×in row-major.
func copyStrip(g []float32, in, i0, m, c0 int, strip []float32, ld int) {
	upperRows(in, i0, m, c0, strip, ld, func(i, start int, src []float32) { copy(g[i*in+start:], src) })
}

// formGroup forms the Gram blocks and norms of group, one batch per
// worker, and adds the blocks to the fit's Σxᵀx in the batches' order.
func (fs *fitSide) formGroup(group [][]float32, workers int) {
	fs.group = group
	fs.job.do(len(group), workers, (*fitSide).formBatch, fs)
	fs.job.do(panels(fs.e.in, addSpanRows), workers, (*fitSide).addRows, fs)
	fs.group = nil
}

// formBatch forms batch i of the group on the slot's scratch alone.
func (fs *fitSide) formBatch(slot, i int) {
	e, x := fs.e, fs.group[i]
	fs.rows[slot] = shiftRows(fs.rows[slot], x, fs.fit.shift)
	fs.dest[slot] = fs.blocks[i]
	fs.norms[i] = e.blockNormOn(fs.scratch[slot], fs.rows[slot], fs.colSums[i], 1, fs.sinks[slot])
}

// addSpanRows is the rows of Σxᵀx one item of addRows takes.
const addSpanRows = 16

// addRows adds the group's blocks to rows item·addSpanRows … of Σxᵀx.
func (fs *fitSide) addRows(_, item int) {
	in, xx, kern := fs.e.in, fs.fit.xx, fs.e.kern
	for r := item * addSpanRows; r < min(in, (item+1)*addSpanRows); r++ {
		for _, g := range fs.blocks[:len(fs.group)] {
			kern.widenAdd(xx[r*in+r:(r+1)*in], g[r*in+r:(r+1)*in])
		}
	}
}
