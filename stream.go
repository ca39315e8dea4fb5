package chanprune

import (
	"fmt"
	"slices"
)

// ScoreSet is one importance estimator's scores, one per input channel, or
// under WithGroups one per channel or one per group.
type ScoreSet struct {
	Name   string
	Scores []float32
}

// Point is the evaluation of one (score set, ratio) pair.
type Point struct {
	Set     string // the score set's name (ScoreSet.Name)
	Metrics        // with the pair's Ratio
}

// A Stream evaluates every (score set, ratio) pair over batches fed one at
// a time (Observe) or a few at a time (ObserveBatches), so a dump larger
// than memory is evaluated in bounded memory: it keeps the layer, the
// scratch of the batches in hand and the per-batch metrics. On the
// Gram path each batch's G serves all pairs.
//
// A Stream uses its Evaluator's scratch: while one of its calls runs, a
// call on the Evaluator or on any of its Streams returns ErrBusy.
type Stream struct {
	e       *Evaluator
	ratios  []float64
	names   []string
	orders  [][]int32 // per score set: channels by ascending score
	ranks   [][]int32 // per score set: each channel's place in its order
	rankBuf []int32   // ranks' backing array, set i at [i·setStride(in):], for lowerSplitSets
	// channel-major: rowRanks[c·sets+i] = ranks[i][c], a row's belows for
	// sweepSplit (sweepStrip)
	rowRanks []int32
	points   []Point // score set-major: points[set·len(ratios)+r]
	cur      []sums  // per point: the sums of the batch in progress
	byK      []int   // ratio indexes by ascending k
	method   Method  // chosen for a sweep; Auto: planned per batch (planStream)
	spent    float64 // what the direct path has cost, for planStream
	batches  int
	gram     *sweepGram   // a batch's Gram state, made at first use
	side     []*sweepGram // the other workers' of a sweep's batches side by side
	sideOut  sideResults  // those batches' sums, until they are recorded in order
	// per point: the Gram sums of the batch in progress are not certified
	// (gram_certify.go)
	uncertified []bool
	ran         []Method       // per point: the method of the batch in progress
	one         [1][]float32   // the batch in progress, as a list
	repair      []*repairProbe // per point, for a repaired stream (repair_stream.go)

	// per point: an earlier point of the same score set that prunes as
	// many channels, so the same ones, whose direct sums it copies; −1 if
	// none (ratios that round to the same cut, common with groups)
	same []int
}

// NewStream checks the score sets and ratios and returns a Stream that
// evaluates each set at each ratio.
func (e *Evaluator) NewStream(sets []ScoreSet, ratios []float64) (*Stream, error) {
	if err := e.acquire("NewStream"); err != nil {
		return nil, err
	}
	defer e.release()
	return e.newStream(sets, ratios)
}

// newStream is NewStream on a held Evaluator: reset orders the score sets
// in e's group scratch.
func (e *Evaluator) newStream(sets []ScoreSet, ratios []float64) (*Stream, error) {
	s := &Stream{e: e}
	return s, s.reset(sets, ratios, nil)
}

// reset readies s for a new run, reusing its memory and dst's.
func (s *Stream) reset(sets []ScoreSet, ratios []float64, dst []Point) error {
	if err := s.e.checkSweep(sets, ratios); err != nil {
		return err
	}
	s.ratios = append(s.ratios[:0], ratios...)
	s.names = s.names[:0]
	for len(s.orders) < len(sets) {
		s.orders = append(s.orders, make([]int32, s.e.in))
	}
	if in, stride := s.e.in, setStride(s.e.in); len(s.ranks) < len(sets) {
		s.rankBuf = make([]int32, len(sets)*stride)
		s.ranks = s.ranks[:0]
		for i := range sets {
			s.ranks = append(s.ranks, s.rankBuf[i*stride:i*stride+in:i*stride+in])
		}
	}
	s.rowRanks = slices.Grow(s.rowRanks[:0], len(sets)*s.e.in)[:len(sets)*s.e.in]
	s.points = dst[:0]
	for i, set := range sets {
		s.names = append(s.names, set.Name)
		_ = s.e.groups.reduceScores(set.Scores) // checked above
		s.e.groups.orderChannels(s.orders[i])
		for p, c := range s.orders[i] {
			s.ranks[i][c] = int32(p)
			s.rowRanks[int(c)*len(sets)+i] = int32(p)
		}
		for _, r := range ratios {
			groups, k := s.e.groups.cut(r)
			s.points = append(s.points, Point{Set: set.Name, Metrics: Metrics{Ratio: r, NumPruned: k,
				NumPrunedGroups: groups, GroupSize: s.e.groups.size, Tie: s.e.groups.tie(groups), PerBatch: sparePerBatch(s.points)}})
		}
	}
	s.cur = slices.Grow(s.cur[:0], len(s.points))[:len(s.points)]
	s.uncertified = slices.Grow(s.uncertified[:0], len(s.points))[:len(s.points)]
	s.same = slices.Grow(s.same[:0], len(s.points))[:len(s.points)]
	for p := range s.points {
		s.same[p] = -1
		for q := p - p%len(ratios); q < p && s.same[p] < 0; q++ {
			if s.points[q].NumPruned == s.points[p].NumPruned {
				s.same[p] = q
			}
		}
	}
	s.ran = slices.Grow(s.ran[:0], len(s.points))[:len(s.points)]
	s.byK = s.byK[:0]
	for r := range ratios {
		s.byK = append(s.byK, r)
	}
	slices.SortStableFunc(s.byK, func(a, b int) int { return s.points[a].NumPruned - s.points[b].NumPruned })
	s.method, s.batches, s.spent, s.repair = Auto, 0, 0, nil
	return nil
}

// sparePerBatch returns, emptied, the PerBatch memory of the point that the
// next append to points overwrites (a point of the caller's dst beyond
// len(points)), so that a reused dst reuses it too; nil if there is none.
func sparePerBatch(points []Point) []BatchMetrics {
	if len(points) == cap(points) {
		return nil
	}
	return points[len(points) : len(points)+1][0].PerBatch[:0]
}

// Observe evaluates every pair on one batch, a row-major [..., In] tensor.
func (s *Stream) Observe(batch []float32) error {
	if err := s.e.acquire("Observe"); err != nil {
		return err
	}
	defer s.e.release()
	return s.observe(batch)
}

// ObserveBatches is Observe on each batch in turn, and gives the same
// points bit for bit, but evaluates consecutive batches together where
// that is faster: on the direct path a worker runs a weight panel over
// several batches of one size (up to 512 tokens), and on a sweep's Gram
// path small batches go side by side on the workers. A caller that holds
// a few batches at a time (the CLI reads them in groups) gets the speed of
// Evaluate. It stops where Observe in turn would: at a batch of the wrong
// shape or whose metrics are not finite, the batches before it observed
// and the error naming that batch.
func (s *Stream) ObserveBatches(batches [][]float32) error {
	if err := s.e.acquire("ObserveBatches"); err != nil {
		return err
	}
	defer s.e.release()
	return s.observeBatches(batches)
}

// observeBatches is ObserveBatches on a held Evaluator: each run of
// batches that the plan sends one way goes to sweepSide or sweepDirect,
// whatever they leave to observe. A repaired stream goes batch by batch.
func (s *Stream) observeBatches(batches [][]float32) error {
	n, bad := len(batches), checkBatches(batches, s.e.in)
	if be, ok := bad.(*BatchError); ok {
		n, be.Batch = be.Batch, s.batches+be.Batch
	} else if bad != nil {
		return bad
	}
	for b := 0; b < n; {
		// A batch planned into a run gets observe's plan: a Direct run
		// leaves H as it is, and H built by a Gram run only makes Gram
		// cheaper. The batch that ends a run is planned again after it:
		// if a Gram run built H, its Direct plan's cost no longer counts.
		spent, first := s.spent, s.batches
		m, end := s.planBatch(batches[b]), b+1
		for s.repair == nil && end < n && s.planBatch(batches[end]) == m {
			end++
		}
		run := batches[b:end]
		took, err := s.sweepSide(m, run)
		if err == nil && took == 0 {
			took, err = s.sweepDirect(m, run)
		}
		for _, x := range run[took:] {
			if err != nil {
				break
			}
			err = s.observeAs(m, x)
		}
		if err != nil {
			// Observe in turn would have planned the run only up to the
			// batch that failed.
			s.spent = spent
			for _, x := range run[:min(len(run), s.batches-first+1)] {
				s.planBatch(x)
			}
			return err
		}
		b = end
	}
	return bad
}

// planBatch returns the method the stream runs batch by: its own, or
// under Auto the plan of planStream, which counts a batch planned Direct
// into what the direct path has cost.
func (s *Stream) planBatch(batch []float32) Method {
	if s.method != Auto || s.repair != nil {
		return s.method
	}
	s.one[0] = batch
	defer func() { s.one[0] = nil }()
	return s.e.planStream(s.one[:], len(s.points), len(s.names), &s.spent)
}

// observe is Observe on a held Evaluator.
func (s *Stream) observe(batch []float32) error {
	e := s.e
	s.one[0] = batch
	defer func() { s.one[0] = nil }()
	if err := checkBatches(s.one[:], e.in); err != nil {
		if be, ok := err.(*BatchError); ok {
			be.Batch = s.batches
		}
		return err
	}
	return s.observeAs(s.planBatch(batch), batch)
}

// observeAs evaluates every pair on a checked batch by method (planBatch's)
// and records it.
func (s *Stream) observeAs(method Method, batch []float32) error {
	s.one[0] = batch
	defer func() { s.one[0] = nil }()
	if err := s.observeSums(method, batch); err != nil {
		return err
	}
	return s.record(batch)
}

// record adds the sums of every pair on batch (s.cur) to the points, or
// returns the error of a pair whose metrics are not finite and leaves the
// stream as it was.
func (s *Stream) record(batch []float32) error {
	e := s.e
	tokens := len(batch) / e.in
	for i, c := range s.cur {
		if bm := batchMetrics(c, tokens, e.out); !isFinite(bm.RMSE) || !isFinite(bm.CosineSimilarity) {
			return nonFiniteBatch(s.batches, batch, e.in, s.ran[i])
		}
	}
	for i := range s.points {
		bm := batchMetrics(s.cur[i], tokens, e.out)
		bm.Method = s.ran[i]
		s.points[i].PerBatch = append(s.points[i].PerBatch, bm)
		if s.uncertified[i] {
			s.points[i].Uncertified++
		}
	}
	s.batches++
	return nil
}

// observeSums sets the sums of every pair on the batch in progress by
// method (planBatch's).
func (s *Stream) observeSums(method Method, batch []float32) error {
	clear(s.uncertified)
	if s.repair != nil {
		return s.observeRepaired(batch)
	}
	for i := range s.ran {
		s.ran[i] = method
	}
	if method == Gram {
		s.observeGram(batch)
	} else {
		s.observeDirect()
	}
	return nil
}

// Result returns the metrics of every pair over the batches observed so
// far, score set-major: the ratios of the first set, then of the next. The
// points share memory with the Stream until its next Observe.
func (s *Stream) Result() ([]Point, error) {
	if err := s.e.acquire("Result"); err != nil {
		return nil, err
	}
	defer s.e.release()
	return s.result()
}

// result is Result on a held Evaluator.
func (s *Stream) result() ([]Point, error) {
	if s.batches == 0 {
		return nil, fmt.Errorf("stream: no batches observed: %w", ErrEmpty)
	}
	for i := range s.points {
		p := &s.points[i]
		p.RMSE, p.CosineSimilarity, p.OutputRMS = 0, 0, 0
		for _, b := range p.PerBatch {
			p.RMSE += b.RMSE
			p.CosineSimilarity += b.CosineSimilarity
			p.OutputRMS += b.OutputRMS
		}
		p.RMSE /= float64(s.batches)
		p.CosineSimilarity /= float64(s.batches)
		p.OutputRMS /= float64(s.batches)
		p.Method = batchesMethod(p.PerBatch)
	}
	return s.points, nil
}

// Sweep evaluates every score set at every ratio over the batches in one
// pass and returns the points score set-major.
func (e *Evaluator) Sweep(batches [][]float32, sets []ScoreSet, ratios []float64) ([]Point, error) {
	var points []Point
	err := e.SweepTo(&points, batches, sets, ratios)
	return points, err
}

// SweepTo is Sweep writing into *dst and reusing its memory, so that a loop
// passing the same dst allocates nothing.
func (e *Evaluator) SweepTo(dst *[]Point, batches [][]float32, sets []ScoreSet, ratios []float64) error {
	if dst == nil {
		return fmt.Errorf("SweepTo: points: %w", ErrNil)
	}
	if err := e.acquire("Sweep"); err != nil {
		return err
	}
	defer e.release()
	return e.sweepTo(dst, batches, sets, ratios, nil, nil)
}

// sweepTo is SweepTo on a held Evaluator, each batch's rows less shift
// (formed in *rows) unless shift is nil.
func (e *Evaluator) sweepTo(dst *[]Point, batches [][]float32, sets []ScoreSet, ratios []float64, shift []float32, rows *[]float32) error {
	if e.sweep == nil {
		s, err := e.newStream(sets, ratios)
		if err != nil {
			return err
		}
		e.sweep = s
	} else if err := e.sweep.reset(sets, ratios, *dst); err != nil {
		return err
	}
	s := e.sweep
	if err := checkBatches(batches, e.in); err != nil {
		return err
	}
	s.method = e.plan(batches, len(s.points), len(s.names), false)
	side := 0
	if shift == nil { // shifted rows are made one batch at a time
		var err error
		if side, err = s.sweepSide(s.method, batches); err != nil {
			return err
		}
		if side == 0 {
			if side, err = s.sweepDirect(s.method, batches); err != nil {
				return err
			}
		}
	}
	for _, x := range batches[side:] {
		if shift != nil {
			*rows = shiftRows(*rows, x, shift)
			x = *rows
		}
		if err := s.observe(x); err != nil {
			return err
		}
	}
	points, err := s.result()
	*dst = points
	s.points = nil // dst owns them now
	return err
}

// observeDirect runs the direct path once per pair.
func (s *Stream) observeDirect() {
	for i := range s.points {
		s.observePoint(i)
	}
}

// observePoint sets the sums of pair i on the batch in progress from the
// direct path, copying them from s.same[i] if there is one: callers go in
// ascending order, so its sums are this batch's direct ones.
func (s *Stream) observePoint(i int) {
	if j := s.same[i]; j >= 0 {
		s.cur[i] = s.cur[j]
		return
	}
	e, p := s.e, &s.points[i]
	splitChannels(e.perm, s.orders[i/len(s.ratios)], p.NumPruned, e.pruned)
	e.run(s.one[:], e.in-p.NumPruned)
	s.cur[i] = e.batchSums[0]
}

// checkSweep checks the score sets (one score per channel, or per group
// under WithGroups) and ratios of a sweep.
func (e *Evaluator) checkSweep(sets []ScoreSet, ratios []float64) error {
	if len(sets) == 0 {
		return fmt.Errorf("score sets: none given: %w", ErrEmpty)
	}
	if len(ratios) == 0 {
		return fmt.Errorf("ratios: none given: %w", ErrEmpty)
	}
	for _, r := range ratios {
		if err := checkRatio(r); err != nil {
			return err
		}
	}
	for _, set := range sets {
		if err := e.groups.reduceScores(set.Scores); err != nil {
			return fmt.Errorf("score set %q: %w", set.Name, err)
		}
	}
	return nil
}
