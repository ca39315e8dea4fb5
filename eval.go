// Package chanprune measures how much pruning the input channels of a linear
// layer changes its output, with the numbers of NVIDIA Model-Optimizer's
// evaluate_importance_scores: for a layer y = x·Wᵀ + b, drop the
// k = int(in·ratio) channels with the lowest importance scores and report the
// RMSE and cosine similarity between the original and pruned outputs,
// averaged over activation batches.
//
// One product is enough: with kept channels K and pruned channels P,
// y' = x_K·W_Kᵀ + b and d = x_P·W_Pᵀ = y − y' come from two disjoint slices
// of the same K-loop, and every metric is a reduction of the pair (y', d).
// d is computed directly, never as y'−y, so the RMSE keeps its digits when
// the bias or the kept channels dominate the output.
package chanprune

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync/atomic"
)

// Linear is a linear layer y = x·Wᵀ + b in PyTorch's layout.
type Linear struct {
	Weight []float32 // [Out, In], row-major (nn.Linear.weight)
	Bias   []float32 // [Out], or empty for a layer without bias
	In     int       // input channels
	Out    int       // output features
}

// Metrics is the result of an evaluation.
type Metrics struct {
	RMSE             float64 // mean over batches of sqrt(mean((y'−y)²))
	CosineSimilarity float64 // mean over batches of y·y' / (max(‖y‖,1e-8)·max(‖y'‖,1e-8))
	Ratio            float64 // the prune ratio asked for
	NumPruned        int     // channels pruned: int(In·ratio), or the pruned groups' channels (WithGroups)
	NumPrunedGroups  int     // groups pruned: int(groups·ratio); NumPruned without WithGroups
	GroupSize        int     // channels per group: WithGroups' size, 1 without it
	// Method is the method that ran: Direct or Gram when every batch ran
	// it, Auto when the batches differ (see BatchMetrics.Method). Under
	// Auto, a stream plans each batch and a Gram batch that fails its
	// certificate is redone directly, so the method can vary.
	Method Method
	// Tie describes equal scores that straddle the cut: the zero Tie when
	// the cut falls between different scores.
	Tie Tie
	// Uncertified counts the batches whose Gram sums could not be shown to
	// be within the conformance tolerances and were kept because the Gram
	// method was forced; under Auto such batches are redone on the direct
	// path, and this is 0.
	Uncertified int
	// OutputRMS is the mean over batches of sqrt(mean(y²)), the scale of
	// the original output, averaged as RMSE is: RMSE/OutputRMS compares
	// layers. Points of one stream agree on it to float32 rounding.
	OutputRMS float64
	// Compensation is the repair measured (CompensateNone: the seed's
	// pruning); Damp is the damp a lstsq repair used; FitTokens counts the
	// rows of the fit set, and FitEvaluated says it was the evaluated
	// batches themselves (no held-out measure: see README, "Compensation").
	Compensation Compensation
	Damp         float64
	FitTokens    int
	FitEvaluated bool
	PerBatch     []BatchMetrics
}

// BatchMetrics holds the metrics of one activation batch.
type BatchMetrics struct {
	RMSE             float64
	CosineSimilarity float64
	Tokens           int    // rows of the batch: its length divided by In
	Method           Method // Direct or Gram: how this batch's metrics were computed

	OutputRMS float64 // sqrt(mean(y²)) over the batch's original outputs
}

// batchesMethod returns the method every batch ran, or Auto if they differ.
func batchesMethod(per []BatchMetrics) Method {
	m := Auto
	for i, b := range per {
		if i == 0 {
			m = b.Method
		} else if b.Method != m {
			return Auto
		}
	}
	return m
}

// Evaluate prunes the NumPruned(layer.In, ratio) lowest-scoring input
// channels of layer and measures the change of its output over the batches.
// Each batch is a row-major [..., In] tensor, flattened. Inputs are not
// modified. For many evaluations of one layer, use an Evaluator.
func Evaluate(layer Linear, batches [][]float32, scores []float32, ratio float64) (Metrics, error) {
	e, err := NewEvaluator(layer)
	if err != nil {
		return Metrics{}, err
	}
	return e.Evaluate(batches, scores, ratio)
}

// An Evaluator holds one layer's packed weight and evaluates many
// (batches, scores, ratio) triples without packing it again. It spreads each
// call over GOMAXPROCS goroutines (or WithWorkers) with a fixed partition, so
// results are bitwise the same for any number of workers.
//
// An Evaluator reuses its scratch memory between calls, so one call runs at
// a time: a call made while another is in progress on the same Evaluator
// or one of its Streams returns ErrBusy at once and changes nothing. Give
// each goroutine its own Evaluator.
type Evaluator struct {
	busy    atomic.Bool // set while a call uses the scratch
	in, out int
	kern    *kernel
	workers int
	method  Method
	weight  []float32 // packed weight panels (packWeight)
	bias    []float32 // bias padded to whole panels
	groups  grouping  // WithGroups; groups of one channel without it

	// Scratch, grown as needed and kept between calls.
	order, perm []int32
	pruned      []bool
	ran         []Method    // per batch of an Evaluate: the method that ran
	packed      [][]float32 // packed activations, one buffer per worker
	batchSums   []sums
	pieceSums   []sums
	workerSums  [][]sums   // per worker: a piece's sums of each batch of its run
	runs        []batchRun // how the whole batches of a call are cut (batchRuns)

	layerGram *layerGram // H, u, ‖b‖², built on the Gram path's first use
	gram      *gramBatch
	sweep     *Stream // reused by SweepTo
	repair    *repairScratch

	// The call in progress, read by the jobs.
	call struct {
		batches            [][]float32
		nk                 int
		runs               []batchRun
		x                  []float32 // the batch whose pieces are shared
		rows               rowLayout // how x is laid out in row panels
		grid               pieceGrid // how x is cut
		batchJob, pieceJob job[Evaluator]
		packJob            job[Evaluator] // the row panels of x
	}
}

// An Option configures an Evaluator. A nil Option is ignored, so that an
// option chosen at run time may be left out as nil.
type Option func(*config)

type config struct {
	kernel    string
	workers   int
	format    WeightFormat // a Layer's weight format (format.go)
	method    Method
	methodSet bool // WithMethod was given: only an Evaluator has a method

	groupSize   int // WithGroups
	groupReduce GroupReduce
	groupsSet   bool // WithGroups was given
}

// newConfig applies opts in order.
func newConfig(opts []Option) config {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return cfg
}

// WithKernel selects the kernel by name ("generic", or a SIMD kernel that
// Kernels lists as supported) instead of the one chosen at start-up.
func WithKernel(name string) Option { return func(c *config) { c.kernel = name } }

// WithWorkers bounds the goroutines one call uses; n ≤ 0 means GOMAXPROCS.
// For a Layer it bounds each Forward: a call shares its pieces with the
// package's workers that are idle at the time and does the rest itself, so
// concurrent callers never wait for each other's pieces, and it takes at
// most its share of GOMAXPROCS, the processors the other Forward calls in
// flight do not run on (one when they are as many as the processors), so
// that no piece waits for a processor (BenchmarkForwardParallel measures
// 8 callers with and without WithWorkers(1)).
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// NewEvaluator checks layer and packs its weight for the selected kernel.
func NewEvaluator(layer Linear, opts ...Option) (*Evaluator, error) {
	cfg := newConfig(opts)
	if cfg.method < Auto || cfg.method > Gram {
		return nil, fmt.Errorf("WithMethod(%d): %w", int(cfg.method), ErrMethod)
	}
	kern, err := selectKernel(cfg.kernel)
	if err != nil {
		return nil, err
	}
	if err := checkLayer(layer); err != nil {
		return nil, err
	}
	groups, err := newGrouping(cfg, layer.In)
	if err != nil {
		return nil, err
	}
	np := panels(layer.Out, kern.nr)
	e := &Evaluator{
		in:      layer.In,
		out:     layer.Out,
		kern:    kern,
		workers: cfg.workers,
		method:  cfg.method,
		weight:  make([]float32, np*kern.nr*layer.In),
		bias:    make([]float32, np*kern.nr),
		groups:  groups,
		order:   make([]int32, layer.In),
		perm:    make([]int32, layer.In),
		pruned:  make([]bool, layer.In),
	}
	packWeight(e.weight, layer.Weight, layer.In, layer.Out, kern.nr)
	packBias(e.bias, layer.Bias)
	return e, nil
}

// Kernel returns the name of the kernel the Evaluator runs ("" for an
// Evaluator not made by NewEvaluator).
func (e *Evaluator) Kernel() string {
	if e.kern == nil {
		return ""
	}
	return e.kern.name
}

// Evaluate measures the pruning of the NumPruned(In, ratio) lowest-scoring
// channels over batches, as the package-level Evaluate does.
func (e *Evaluator) Evaluate(batches [][]float32, scores []float32, ratio float64) (Metrics, error) {
	var m Metrics
	err := e.EvaluateTo(&m, batches, scores, ratio)
	return m, err
}

// checkPair checks an evaluation's ratio, its scores (one per channel, or
// per group under WithGroups) and its batches.
func (e *Evaluator) checkPair(batches [][]float32, scores []float32, ratio float64) error {
	if err := checkRatio(ratio); err != nil {
		return err
	}
	if err := e.groups.reduceScores(scores); err != nil {
		return err
	}
	return checkBatches(batches, e.in)
}

// EvaluateTo is Evaluate writing into m and reusing the capacity of
// m.PerBatch, so a loop that passes the same m allocates nothing.
func (e *Evaluator) EvaluateTo(m *Metrics, batches [][]float32, scores []float32, ratio float64) error {
	if m == nil {
		return fmt.Errorf("EvaluateTo: metrics: %w", ErrNil)
	}
	if err := e.acquire("Evaluate"); err != nil {
		return err
	}
	defer e.release()
	if err := e.checkPair(batches, scores, ratio); err != nil {
		return err
	}
	groups, k := e.groups.cut(ratio)
	e.groups.orderChannels(e.order)
	if err := e.measure(m, batches, k, e.plan(batches, 1, 1, false)); err != nil {
		return err
	}
	m.Ratio, m.NumPrunedGroups, m.GroupSize, m.Tie = ratio, groups, e.groups.size, e.groups.tie(groups)
	return nil
}

// measure evaluates batches by method (Direct or Gram, as planned) with
// the first k channels of e.order pruned, writing into m all but its
// Ratio, group counts and Tie.
func (e *Evaluator) measure(m *Metrics, batches [][]float32, k int, method Method) error {
	splitChannels(e.perm, e.order, k, e.pruned)
	e.ran = slices.Grow(e.ran[:0], len(batches))[:len(batches)]
	uncertified := 0
	if method == Gram {
		uncertified = e.runGram(batches, k)
	} else {
		e.run(batches, e.in-k)
		for b := range e.ran {
			e.ran[b] = Direct
		}
	}

	*m = Metrics{NumPruned: k, Uncertified: uncertified, PerBatch: m.PerBatch[:0]}
	for b, s := range e.batchSums[:len(batches)] {
		tokens := len(batches[b]) / e.in
		bm := batchMetrics(s, tokens, e.out)
		bm.Method = e.ran[b]
		if !isFinite(bm.RMSE) || !isFinite(bm.CosineSimilarity) {
			return nonFiniteBatch(b, batches[b], e.in, bm.Method)
		}
		m.addBatch(bm)
	}
	m.average()
	return nil
}

// addBatch adds a batch's metrics to m's sums and PerBatch.
func (m *Metrics) addBatch(bm BatchMetrics) {
	m.RMSE += bm.RMSE
	m.CosineSimilarity += bm.CosineSimilarity
	m.OutputRMS += bm.OutputRMS
	m.PerBatch = append(m.PerBatch, bm)
}

// average turns m's sums into the means over its PerBatch and sets its
// Method.
func (m *Metrics) average() {
	m.RMSE /= float64(len(m.PerBatch))
	m.CosineSimilarity /= float64(len(m.PerBatch))
	m.OutputRMS /= float64(len(m.PerBatch))
	m.Method = batchesMethod(m.PerBatch)
}

// acquire claims the Evaluator's scratch for call, or reports ErrBusy if
// another call holds it; an Evaluator or Stream not made by its
// constructor has none to claim.
func (e *Evaluator) acquire(call string) error {
	if e == nil || e.kern == nil {
		return fmt.Errorf("%s: an Evaluator or Stream not made by NewEvaluator or NewStream: %w", call, ErrNil)
	}
	if !e.busy.CompareAndSwap(false, true) {
		return fmt.Errorf("%s: another call on this Evaluator is in progress: %w", call, ErrBusy)
	}
	return nil
}

// release gives back what acquire claimed.
func (e *Evaluator) release() { e.busy.Store(false) }

// A BatchError locates a problem in one batch of a call.
type BatchError struct {
	Batch int // index in the batches argument
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("batch %d: %v", e.Batch, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// batchMetrics turns one batch's reductions into its metrics.
func batchMetrics(s sums, tokens, out int) BatchMetrics {
	const eps = 1e-8
	ny, ny1 := math.Sqrt(s[sYY]), math.Sqrt(s[sY1Y1])
	var cos float64
	if ny >= eps && ny1 >= eps {
		// The same value, exactly 1 when y' = y: sqrt(a·a) = a in IEEE.
		cos = s[sYY1] / math.Sqrt(s[sYY]*s[sY1Y1])
	} else {
		cos = s[sYY1] / (max(ny, eps) * max(ny1, eps))
	}
	return BatchMetrics{
		RMSE:             math.Sqrt(s[sDD] / float64(tokens*out)),
		CosineSimilarity: cos,
		Tokens:           tokens,
		OutputRMS:        math.Sqrt(s[sYY] / float64(tokens*out)),
	}
}

func (e *Evaluator) workerCount() int {
	if e.workers > 0 {
		return e.workers
	}
	return runtime.GOMAXPROCS(0)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// nonFiniteBatch explains a batch whose metrics, computed by method, are
// not finite. With finite activations, Gram's sums can overflow where the
// layer's output does not (an entry of G = xᵀx or H⊙G past float32's
// range), so that error names them rather than the output.
func nonFiniteBatch(b int, x []float32, in int, method Method) error {
	if i, ok := firstNonFinite(x); ok {
		return &BatchError{b, fmt.Errorf("activation [%d, %d] is %v: %w", i/in, i%in, x[i], ErrNonFinite)}
	}
	if method == Gram {
		return &BatchError{b, fmt.Errorf("the Gram method's float32 sums (G = xᵀx or H⊙G) overflow, the layer's output may not: the direct method evaluates it: %w", ErrNonFinite)}
	}
	return &BatchError{b, fmt.Errorf("the layer's output overflows float32: %w", ErrNonFinite)}
}

func firstNonFinite(x []float32) (int, bool) {
	for i, v := range x {
		if !isFinite(float64(v)) {
			return i, true
		}
	}
	return 0, false
}

func checkLayer(l Linear) error {
	if l.In <= 0 || l.Out <= 0 {
		return fmt.Errorf("layer: In=%d, Out=%d must be positive: %w", l.In, l.Out, ErrShape)
	}
	if l.In > math.MaxInt32 || l.Out > math.MaxInt/l.In || len(l.Weight) != l.In*l.Out {
		return fmt.Errorf("layer: weight has %d values, want In·Out = %d·%d: %w", len(l.Weight), l.In, l.Out, ErrShape)
	}
	if len(l.Bias) != 0 && len(l.Bias) != l.Out {
		return fmt.Errorf("layer: bias has %d values, want Out = %d or none: %w", len(l.Bias), l.Out, ErrShape)
	}
	if i, ok := firstNonFinite(l.Weight); ok {
		return fmt.Errorf("layer: weight [%d, %d] is %v: %w", i/l.In, i%l.In, l.Weight[i], ErrNonFinite)
	}
	if i, ok := firstNonFinite(l.Bias); ok {
		return fmt.Errorf("layer: bias [%d] is %v: %w", i, l.Bias[i], ErrNonFinite)
	}
	return nil
}

func checkBatches(batches [][]float32, in int) error {
	if len(batches) == 0 {
		return fmt.Errorf("batches: none given: %w", ErrEmpty)
	}
	for b, x := range batches {
		if len(x) == 0 {
			return &BatchError{b, fmt.Errorf("no rows: %w", ErrEmpty)}
		}
		if len(x)%in != 0 {
			return &BatchError{b, fmt.Errorf("%d values are not rows of In = %d: %w", len(x), in, ErrShape)}
		}
	}
	return nil
}
