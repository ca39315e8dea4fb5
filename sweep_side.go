package chanprune

import "slices"

// A sweep's batches side by side, as an evaluation's (gram_side.go): each
// worker forms a batch's G and sums it for every pair on its own, then the
// batches are recorded in order, so the points do not depend on the worker
// count.

// sideSweepFloats bounds the bands' column sums (sweepColsLen), in
// float64s, for a sweep of batches side by side: each worker keeps its own
// (0.9 MiB for 5 score sets at in = 1024).
const sideSweepFloats = 1 << 20

// sideSums bounds a chunk of a sweep side by side: the batches the
// workers share before the chunk is recorded, whose sums (one a pair and
// batch, 33 bytes) wait in memory until then, about 4 MiB. Each chunk ends
// when its last batch does, the other workers idle; a seed sweep (45 pairs,
// 100 batches) is one chunk, and took 3.7% longer on avx2 (1.7% on
// avx512, 2 cores) in chunks of 4 batches a worker. A variable, so that
// a test can cut a sweep into chunks of a batch a worker.
var sideSums = 1 << 17

// sideResults holds a chunk of a sweep's batches and, batch-major, every
// pair's sums on them and whether they are certified.
type sideResults struct {
	batches  [][]float32
	cur      []sums
	bad      []bool
	job      job[Stream]
	direct   [][]float32 // the batches of a pair that directChunk runs
	directAt []int       // their indexes in batches
}

// sweepSide evaluates batches from the first side by side, if method is
// Gram, the stream is an unrepaired sweep and they and G are small
// enough, a chunk at a time, and records each as observe does (redoing its
// uncertified pairs on the direct path). It returns how many batches it
// took.
func (s *Stream) sweepSide(method Method, batches [][]float32) (int, error) {
	e := s.e
	workers := e.workerCount()
	if method != Gram || s.repair != nil || len(s.points) == 1 || sweepColsLen(e.in, len(s.names), sweepBandCount(e.in, e.kern.mr, len(s.names))) > sideSweepFloats {
		return 0, nil
	}
	n := sideCount(batches, workers)
	if n == 0 {
		return 0, nil
	}
	if s.gram == nil {
		e.setGramMask() // builds H
		s.gram = newSweepGram(s, e.gram.gramScratch)
	}
	for len(s.side) < workers-1 {
		s.side = append(s.side, newSweepGram(s, newGramScratch(e)))
	}
	s.gram.ready()
	for _, sg := range s.side[:workers-1] {
		sg.ready()
	}
	points, out := len(s.points), &s.sideOut
	defer func() { out.batches = nil }()
	chunk := max(1, sideSums/points/workers) * workers
	for b0 := 0; b0 < n; b0 += chunk {
		out.batches = batches[b0:min(n, b0+chunk)]
		size := len(out.batches) * points
		out.cur = slices.Grow(out.cur[:0], size)[:size]
		out.bad = slices.Grow(out.bad[:0], size)[:size]
		out.job.do(len(out.batches), workers, (*Stream).sideBatch, s)
		if err := s.recordChunk(Gram, out.bad, s.redoChunk()); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// sideBatch evaluates batch b of the chunk on the slot's Gram state alone.
func (s *Stream) sideBatch(slot, b int) {
	sg := s.gram
	if slot > 0 {
		sg = s.side[slot-1]
	}
	sg.observe(s.sideOut.batches[b], 1)
	points := len(s.points)
	copy(s.sideOut.cur[b*points:], sg.cur)
	copy(s.sideOut.bad[b*points:], sg.bad)
}

// redoChunk redoes on the direct path the pairs of the chunk's batches
// whose Gram sums are not certified (directChunk), unless the Gram path is
// forced, and reports whether it did.
func (s *Stream) redoChunk() bool {
	if s.e.method == Gram {
		return false
	}
	s.directChunk(s.sideOut.bad)
	return true
}
