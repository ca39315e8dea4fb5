package chanprune

// The work of one call is split into (batch, piece) units, a piece being a
// run of weight panels (a chunk) over a run of token panels (a span) of one
// batch. The pieces of a batch depend on the layer's shape and the batch's
// token count only, never on the number of workers; each piece's reductions
// start from zero and are formed in the same order whoever runs it, and a
// batch's sums are its piece sums added in piece order, so the result does
// not depend on the number of workers. A worker that takes a run of small
// batches (batchRuns) forms each batch's pieces in this order too, a weight
// panel at a time over all of the run's batches.

const (
	// chunkOutputs is the widest chunk in outputs: wide enough to amortise
	// the activation panel.
	chunkOutputs = 256
	// batchPieces is how many pieces a batch with enough work is cut into
	// at least: several per worker on a machine of a few cores, so that one
	// batch (a Stream fed batch by batch) keeps every core busy.
	batchPieces = 16
	// pieceMACs is the least work worth a piece of its own, in
	// multiply-adds: some microseconds, against a hand-out of some tens of
	// nanoseconds.
	pieceMACs = 1 << 19
	// groupTokens is how many tokens of small batches a worker evaluates
	// together: consecutive batches of one size, packed side by side and
	// run weight panel by weight panel, so that a weight panel read from
	// memory serves them all. One 128-token batch at a time, the weight
	// stream set the pace: with every panel held in L2 (a timing-only
	// build) seed (1024→4096) ran 7% faster on 2 cores; runs of 4 batches
	// took 8% off it, runs of 8 no more.
	groupTokens = 512
	// groupFloats bounds a worker's packed run, in floats (4 MiB): runs
	// of 2 or 3 of down's batches (4096→1024, 2.3 MB packed each) gained
	// nothing, and batches that large go one at a time.
	groupFloats = 1 << 20
)

// batchRun is a run of consecutive batches of one size, batches[lo:hi],
// that one worker evaluates together.
type batchRun struct{ lo, hi int }

// pieceGrid is how a batch is cut: chunks of cp weight panels by spans of
// sp token panels, piece k being chunk k/spans over span k%spans.
type pieceGrid struct{ cp, chunks, sp, spans int }

func (g pieceGrid) pieces() int { return g.chunks * g.spans }

// grid cuts a batch of tokens rows, laid out in row panels as l, into
// pieces.
func (e *Evaluator) grid(l rowLayout) pieceGrid {
	return cutPieces(panels(e.out, e.kern.nr), l.count(), max(1, chunkOutputs/e.kern.nr),
		float64(l.tokens)*float64(e.in)*float64(e.out))
}

// layout lays a batch x out in row panels.
func (e *Evaluator) layout(x []float32) rowLayout { return newRowLayout(e.kern, len(x)/e.in) }

// cutPieces cuts wp weight panels by tp token panels, macs multiply-adds in
// all, into chunks of at most widest panels: into narrower chunks first, as
// they cost nothing, then into spans, each of which reads the chunk's
// weight panels again, until there are batchPieces or each has about
// pieceMACs of work.
func cutPieces(wp, tp, widest int, macs float64) pieceGrid {
	want := max(1, int(min(batchPieces, macs/pieceMACs))) // float: no overflow on 32-bit int
	var g pieceGrid
	g.chunks = max(1, min(wp, max(want, panels(wp, widest))))
	g.cp = max(1, wp/g.chunks) // rounded down: at least as many chunks as asked
	g.chunks = max(1, panels(wp, g.cp))
	g.spans = max(1, min(tp, panels(want, g.chunks)))
	g.sp = max(1, tp/g.spans)
	g.spans = max(1, panels(tp, g.sp))
	return g
}

// run fills e.batchSums with each batch's reductions, nk channels kept.
func (e *Evaluator) run(batches [][]float32, nk int) {
	workers := e.workerCount()
	// Whole batches per worker, with no synchronisation inside a batch; the
	// last batches mod workers would leave workers idle while the others
	// finish a batch each (25 batches on 16 workers: two rounds for 1.6 of
	// work), so their pieces are shared.
	whole := len(batches)
	if workers > 1 {
		whole -= len(batches) % workers
	}
	runs := e.batchRuns(batches[:whole], workers)
	e.grow(batches, runs, workers)
	e.call.batches, e.call.nk, e.call.runs = batches, nk, runs
	defer func() { e.call.batches, e.call.x = nil, nil }() // keep no caller memory alive
	e.call.batchJob.do(len(runs), workers, (*Evaluator).evalRun, e)
	for b := whole; b < len(batches); b++ {
		x := batches[b]
		l := e.layout(x)
		e.call.x, e.call.rows, e.call.grid = x, l, e.grid(l)
		e.call.packJob.do(l.count(), min(workers, l.count()), (*Evaluator).packSharedPanel, e)
		n := e.call.grid.pieces()
		e.call.pieceJob.do(n, min(workers, n), (*Evaluator).evalSharedPiece, e)
		var total sums
		for _, ps := range e.pieceSums[:n] {
			addSums(&total, ps)
		}
		e.batchSums[b] = total
	}
}

// batchRuns cuts batches into the runs the workers take: up to
// groupTokens tokens of consecutive batches of one size, and at most the
// batches left over the workers, so that the runs shrink towards the end
// and the workers finish together.
func (e *Evaluator) batchRuns(batches [][]float32, workers int) []batchRun {
	runs := e.runs[:0]
	for b := 0; b < len(batches); {
		l := e.layout(batches[b])
		g := min(groupTokens/max(1, l.tokens), groupFloats/max(1, l.rows()*e.in), (len(batches)-b)/workers)
		n := 1
		for n < g && len(batches[b+n]) == len(batches[b]) {
			n++
		}
		runs = append(runs, batchRun{b, b + n})
		b += n
	}
	e.runs = runs
	return runs
}

// evalRun is the batch job: worker slot w evaluates run r of batches. Each
// batch's sums are formed in the order evalPiece forms them, whatever the
// run, so they do not depend on how the batches were grouped.
func (e *Evaluator) evalRun(w, r int) {
	run := e.call.runs[r]
	batches := e.call.batches[run.lo:run.hi]
	l := e.layout(batches[0])
	size := l.rows() * e.in
	for i, x := range batches {
		e.pack(e.packed[w][i*size:(i+1)*size], x, l)
	}
	g := e.grid(l)
	piece := e.workerSums[w][:len(batches)]
	total := e.batchSums[run.lo:run.hi]
	clear(total)
	for k := range g.pieces() {
		clear(piece)
		j0, j1, i0, i1 := e.pieceBounds(l, g, k)
		for j := j0; j < j1; j++ {
			pre := e.prefetcher(j, len(piece)*(i1-i0))
			for i := range piece {
				e.evalPanel(e.packed[w][i*size:(i+1)*size], l, e.call.nk, j, i0, i1, &pre, &piece[i])
			}
		}
		for i := range total {
			addSums(&total[i], piece[i])
		}
	}
}

// packSharedPanel is the packing job of a shared batch: row panel i of it,
// into slot 0, so that the workers share the packing as they share the
// pieces. Serial, it was a fifth of a 128×1024 batch of a 1024→256 layer
// on two cores: 0.08 ms of packing on one core against 0.58 ms of pieces.
func (e *Evaluator) packSharedPanel(_, i int) {
	packActivationPanel(e.packed[0], e.call.x, e.in, e.call.rows, e.perm, i)
}

// evalSharedPiece is the piece job: piece k of the batch packed in slot 0.
func (e *Evaluator) evalSharedPiece(_, k int) {
	e.pieceSums[k] = sums{}
	e.evalPiece(e.packed[0], e.call.rows, e.call.nk, e.call.grid, k, &e.pieceSums[k])
}

// evalPiece adds the reductions of piece k of a batch laid out as l and cut
// by g, whose activations are packed, to s.
func (e *Evaluator) evalPiece(packed []float32, l rowLayout, nk int, g pieceGrid, k int, s *sums) {
	j0, j1, i0, i1 := e.pieceBounds(l, g, k)
	for j := j0; j < j1; j++ {
		pre := e.prefetcher(j, i1-i0)
		e.evalPanel(packed, l, nk, j, i0, i1, &pre, s)
	}
}

// pieceBounds returns piece k's weight panels [j0, j1) and row panels
// [i0, i1).
func (e *Evaluator) pieceBounds(l rowLayout, g pieceGrid, k int) (j0, j1, i0, i1 int) {
	c, t := k/g.spans, k%g.spans
	return c * g.cp, min((c+1)*g.cp, panels(e.out, e.kern.nr)), t * g.sp, min((t+1)*g.sp, l.count())
}

// evalPanel adds the reductions of weight panel j over row panels [i0, i1)
// of a batch laid out as l, whose activations are packed, to s, each pass
// prefetching as pre says.
func (e *Evaluator) evalPanel(packed []float32, l rowLayout, nk, j, i0, i1 int, pre *panelPrefetch, s *sums) {
	nr, in := e.kern.nr, e.in
	w := e.weight[j*in*nr : (j+1)*in*nr]
	bias := e.bias[j*nr : (j+1)*nr]
	for i := i0; i < i1; i++ {
		kern, row := l.panel(i)
		a := packed[row*in : (row+kern.mr)*in]
		pf, step := pre.pass(in)
		kern.eval(a, w, e.perm, nk, bias, min(kern.mr, l.tokens-row), s, pf, step)
	}
}

func (e *Evaluator) pack(dst, x []float32, l rowLayout) {
	packActivations(dst, x, e.in, l, e.perm)
}

// grow sizes the scratch for batches cut into runs and for workers,
// keeping what is there.
func (e *Evaluator) grow(batches [][]float32, runs []batchRun, workers int) {
	maxRows, maxPieces, maxRun := 0, 0, 1
	for _, x := range batches {
		l := e.layout(x)
		maxRows = max(maxRows, l.rows())
		maxPieces = max(maxPieces, e.grid(l).pieces())
	}
	size := maxRows * e.in
	for _, r := range runs {
		maxRun = max(maxRun, r.hi-r.lo)
		size = max(size, (r.hi-r.lo)*e.layout(batches[r.lo]).rows()*e.in)
	}
	for len(e.packed) < workers {
		e.packed = append(e.packed, nil)
	}
	for w := range e.packed[:workers] {
		if len(e.packed[w]) < size {
			e.packed[w] = make([]float32, size)
		}
	}
	for len(e.workerSums) < workers {
		e.workerSums = append(e.workerSums, nil)
	}
	for w := range e.workerSums[:workers] {
		if len(e.workerSums[w]) < maxRun {
			e.workerSums[w] = make([]sums, maxRun)
		}
	}
	if len(e.batchSums) < len(batches) {
		e.batchSums = make([]sums, len(batches))
	}
	if len(e.pieceSums) < maxPieces {
		e.pieceSums = make([]sums, maxPieces)
	}
}

// prefetchStep is how many bytes of the next weight panel a pass over the
// current one prefetches a K step (evalFunc's pfStep). Each weight panel
// comes from memory once per run of batches, and a panel's first pass
// waited for it: in Evaluate/down (4096→1024, AVX-512) the first of a
// panel's 14-row tiles took 40 µs and the others 18. Prefetched a line
// every eighth step over the last passes of the panel before, it is in
// the caches by then (the first tile: 21 µs): down took 0.91–0.98 of its
// time on AVX-512 and 0.95–0.97 on AVX2, seed 0.96–0.99, the less the
// busier the VM; 4, 8 or 16 bytes a step did alike, 32 (the next panel in
// two passes, crowding the current one out of L2) was slower.
const prefetchStep = 8

// panelPrefetch spreads the prefetch of the weight panel after this one
// over this one's last passes (evalFunc's pf).
type panelPrefetch struct {
	next         []float32 // the panel after this one
	left, spread int       // passes still to run; how many of the last ones prefetch
	per          int       // floats of next a prefetching pass covers
}

// prefetcher plans the prefetch for weight panel j, over passes passes.
func (e *Evaluator) prefetcher(j, passes int) panelPrefetch {
	nr, in, np := e.kern.nr, e.in, panels(e.out, e.kern.nr)
	next := (j + 1) % np
	spread := min(passes, panels(4*in*nr, in*prefetchStep))
	return panelPrefetch{
		next:   e.weight[next*in*nr : (next+1)*in*nr],
		left:   passes,
		spread: spread,
		per:    panels(in*nr, max(1, spread)),
	}
}

// pass returns the next pass's pf and pfStep for a K loop of in steps:
// nothing before the last spread passes, then next's part q of spread.
func (p *panelPrefetch) pass(in int) ([]float32, int) {
	p.left--
	q := p.spread - 1 - p.left
	if q < 0 || q*p.per >= len(p.next) {
		return nil, 0
	}
	pf := p.next[q*p.per : min((q+1)*p.per, len(p.next))]
	return pf, 4 * len(pf) / in
}
