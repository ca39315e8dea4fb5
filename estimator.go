package chanprune

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Importance estimators score the input channels of a layer from its
// activations, lower meaning less important: the scores Evaluate and Sweep
// take. Each observes activation batches one at a time, so a calibration
// set larger than memory streams through it, and saves its state so that a
// long scoring run can resume.

var (
	// ErrEstimator reports an unknown estimator name, an option the
	// estimator does not take or a bad value of one, or a batch beyond the
	// iterations an iterative estimator was given.
	ErrEstimator = errors.New("invalid estimator or estimator option")
	// ErrState reports an estimator state that is malformed, of another
	// format version, saved for another layer or holding sums no run could
	// reach; or a batch that would take a restored state's batch or token
	// count past math.MaxInt.
	ErrState = errors.New("invalid estimator state")
)

// An Estimator scores a layer's input channels from activation batches.
// It is not safe for concurrent use.
type Estimator interface {
	// Name returns the estimator's name, one of EstimatorNames.
	Name() string
	// Observe adds one activation batch of the given shape, row-major:
	// [seq, batch, In] or [batch, seq, In] as the options' Layout says, or
	// [tokens, In], one sequence. It does not modify batch, and on an error
	// the estimator is unchanged.
	Observe(batch []float32, shape []int) error
	// Scores returns one score per input channel over the batches observed
	// so far; lower means less important.
	Scores() ([]float32, error)
	// Save writes the estimator's state, which LoadEstimator restores.
	Save(w io.Writer) error
	// Options returns the options the estimator was built or saved with,
	// Layout spelt out: a resumed run compares them with its own.
	Options() EstimatorOptions
}

// The layouts of a three-dimensional activation batch, EstimatorOptions'
// Layout.
const (
	// LayoutSeqFirst is [seq, batch, In], Megatron's, whose activations
	// Model-Optimizer's hooks read; the default.
	LayoutSeqFirst = "seq-first"
	// LayoutBatchFirst is [batch, seq, In], what a Hugging Face module's
	// forward hook sees.
	LayoutBatchFirst = "batch-first"
)

// Layouts lists the values of EstimatorOptions' Layout, the default first.
func Layouts() []string { return []string{LayoutSeqFirst, LayoutBatchFirst} }

// EstimatorOptions are the options of the estimators that take one; every
// other estimator refuses a non-zero value, except Layout, which every
// estimator takes.
type EstimatorOptions struct {
	// Layout is the order of a batch's two leading axes, LayoutSeqFirst
	// (also "", the default) or LayoutBatchFirst. Only l2norm, which
	// averages over the sequence, depends on it; every other estimator
	// treats all tokens of a batch alike.
	Layout string `json:"layout,omitempty"`
	// Calibration is iterative's token scaling: "" (none) or
	// "scale-by-magnitude" (Model-Optimizer's "scale_by_magnitude").
	Calibration string `json:"calibration,omitempty"`
	// Iterations is iterative's number of batches, 1 to math.MaxInt32: the
	// pruning schedule spreads the channels over them.
	Iterations int `json:"iterations,omitempty"`
	// Seed seeds random's generator.
	Seed uint64 `json:"seed,omitempty"`
	// Damp is obs's ridge damping, λ = Damp·mean_c S_cc; 0 means
	// DefaultDamp.
	Damp float64 `json:"damp,omitempty"`
}

// estimatorKind is one entry of the estimator table.
type estimatorKind struct {
	name        string
	activations bool // its scores need at least one batch
	build       func(layer Linear, opts EstimatorOptions) (scorer, error)
}

var estimatorKinds = []estimatorKind{
	{"l2norm", true, newL2Norm},
	{"channel-contribution", true, newChannelContribution},
	{"iterative", true, newIterative},
	{"wanda-sp", true, newWandaSP},
	{"fluctuation", true, newFluctuation},
	{"obs", true, newOBS},
	{"magnitude", false, newMagnitude},
	{"random", false, newRandom},
}

// EstimatorNames lists the estimators NewEstimator builds.
func EstimatorNames() []string {
	names := make([]string, len(estimatorKinds))
	for i, k := range estimatorKinds {
		names[i] = k.name
	}
	return names
}

// A scorer is one estimator's arithmetic; the estimator wrapping it checks
// the batches and counts them.
type scorer interface {
	// observe adds a checked batch; on an error the scorer is unchanged.
	observe(a activations) error
	// scores returns the scores, after at least one batch where the
	// estimator's kind needs activations.
	scores() []float32
	// restore checks a state just decoded into the scorer's exported
	// fields, saved after the given number of batches of In channels, and
	// rebuilds what derives from it.
	restore(in, batches int) error
}

// activations is one checked batch: x is [seq, batch, in] row-major, or
// [batch, seq, in] where batchFirst is set, a [tokens, in] batch counting
// as one sequence of tokens.
type activations struct {
	x          []float32
	seq, batch int
	batchFirst bool
	index      int // batches observed before this one
}

func (a activations) tokens() int { return a.seq * a.batch }

// token returns x at sequence position s of sequence b, in values.
func (a activations) token(s, b, in int) []float32 {
	t := s*a.batch + b
	if a.batchFirst {
		t = b*a.seq + s
	}
	return a.x[t*in : (t+1)*in]
}

// estimator wraps a scorer with what every estimator does alike.
type estimator struct {
	kind     *estimatorKind
	opts     EstimatorOptions
	in, out  int
	checksum uint32 // of the layer (layerChecksum), to match saved states
	batches  int
	scorer   scorer
}

// NewEstimator returns the estimator name (one of EstimatorNames) for
// layer, with its options. The estimator reads layer only here: it keeps
// the statistics of the weight it needs, or packs it.
//
// The estimators, all accumulating in float64:
//   - l2norm (Model-Optimizer's MegatronL2NormHook): sqrt(Σ_batches Σ_b
//     (mean_seq |x_{s,b,c}|)²), a [tokens, In] batch counting as one
//     sequence. The only estimator whose scores depend on Layout.
//   - channel-contribution (IndependentChannelContributionHook):
//     ‖W[:,c]‖₂ · Σ_batches mean_tokens |x_{t,c}|.
//   - iterative (IterativeChannelContributionHook, Calibration none or
//     scale-by-magnitude): each channel's position in a pruning order, 0 for
//     the first pruned, found over Iterations batches: each batch adds every
//     unpruned channel's mean contribution to the output change, and on
//     the batches that Model-Optimizer's schedule names the channels with
//     the smallest sums since the last prune are pruned (ties to the lower
//     index). A batch beyond Iterations is an error; before the last, the
//     channels not yet pruned follow the pruned ones by ascending sum, ties
//     to the lower index.
//   - wanda-sp (FLAP's WIFN): mean_o |W_{o,c}| · sqrt(mean_tokens x_{t,c}²).
//   - fluctuation (FLAP's WIFV): var_tokens(x_c) · Σ_o W_{o,c}², the
//     population variance.
//   - obs (ZipLM's structured OBS): each channel's position in the greedy
//     order that removes, one at a time, the channel whose removal with the
//     rest refitted by least squares costs least (estimator_obs.go);
//     Damp sets its ridge damping.
//   - magnitude: ‖W[:,c]‖₂, with no batches needed.
//   - random: uniform in [0, 1) from Seed, the baseline every other
//     estimator should beat; no batches needed.
//
// mean_tokens and var_tokens run over every token of every batch.
func NewEstimator(name string, layer Linear, opts EstimatorOptions) (Estimator, error) {
	kind := findEstimator(name)
	if kind == nil {
		return nil, fmt.Errorf("estimator %q: want one of %s: %w", name, strings.Join(EstimatorNames(), ", "), ErrEstimator)
	}
	if err := checkEstimatorOptions(name, opts); err != nil {
		return nil, err
	}
	if opts.Layout == "" {
		opts.Layout = LayoutSeqFirst
	}
	if err := checkLayer(layer); err != nil {
		return nil, err
	}
	s, err := kind.build(layer, opts)
	if err != nil {
		return nil, err
	}
	return &estimator{kind: kind, opts: opts, in: layer.In, out: layer.Out, checksum: layerChecksum(layer), scorer: s}, nil
}

func findEstimator(name string) *estimatorKind {
	for i := range estimatorKinds {
		if estimatorKinds[i].name == name {
			return &estimatorKinds[i]
		}
	}
	return nil
}

// checkEstimatorOptions refuses the options an estimator does not take.
func checkEstimatorOptions(name string, opts EstimatorOptions) error {
	if name != "iterative" && (opts.Calibration != "" || opts.Iterations != 0) {
		return fmt.Errorf("estimator %s: Calibration %q, Iterations %d: only iterative takes them: %w",
			name, opts.Calibration, opts.Iterations, ErrEstimator)
	}
	if !slices.Contains(Layouts(), opts.Layout) && opts.Layout != "" {
		return fmt.Errorf("estimator %s: Layout %q: want %s or %s: %w", name, opts.Layout, LayoutSeqFirst, LayoutBatchFirst, ErrEstimator)
	}
	if name != "obs" && opts.Damp != 0 || !(opts.Damp >= 0) || math.IsInf(opts.Damp, 0) {
		return fmt.Errorf("estimator %s: Damp %v: only obs takes it, a finite number ≥ 0: %w", name, opts.Damp, ErrEstimator)
	}
	if name != "random" && opts.Seed != 0 {
		return fmt.Errorf("estimator %s: Seed %d: only random takes it: %w", name, opts.Seed, ErrEstimator)
	}
	return nil
}

func (e *estimator) Name() string { return e.kind.name }

func (e *estimator) Options() EstimatorOptions { return e.opts }

func (e *estimator) Observe(batch []float32, shape []int) error {
	a, err := checkActivations(batch, shape, e.in, e.opts.Layout == LayoutBatchFirst)
	if err == nil && e.batches == math.MaxInt { // only a crafted state gets here
		err = fmt.Errorf("%d batches already: the batch count would overflow: %w", e.batches, ErrState)
	}
	if err == nil {
		a.index = e.batches
		err = e.scorer.observe(a)
	}
	if err != nil {
		return &BatchError{e.batches, fmt.Errorf("%s: %w", e.kind.name, err)}
	}
	e.batches++
	return nil
}

func (e *estimator) Scores() ([]float32, error) {
	if e.kind.activations && e.batches == 0 {
		return nil, fmt.Errorf("%s: no activation batches observed: %w", e.kind.name, ErrEmpty)
	}
	if c, ok := e.scorer.(interface{ scoresChecked() ([]float32, error) }); ok {
		return c.scoresChecked()
	}
	return e.scorer.scores(), nil
}

// checkActivations checks one batch of the given shape, batch-first or
// sequence-first, against the layer's in channels.
func checkActivations(x []float32, shape []int, in int, batchFirst bool) (activations, error) {
	if len(shape) != 2 && len(shape) != 3 {
		leading := "seq, batch"
		if batchFirst {
			leading = "batch, seq"
		}
		return activations{}, fmt.Errorf("shape %v: want [%s, %d] or [tokens, %d]: %w", shape, leading, in, in, ErrShape)
	}
	if shape[len(shape)-1] != in {
		return activations{}, fmt.Errorf("shape %v: the last dimension is not the layer's %d input channels: %w", shape, in, ErrShape)
	}
	n := 1
	for _, d := range shape {
		switch {
		case d < 0 || (d > 0 && n > math.MaxInt/d):
			return activations{}, fmt.Errorf("shape %v is not a valid size: %w", shape, ErrShape)
		case d == 0:
			return activations{}, fmt.Errorf("shape %v has no values: %w", shape, ErrEmpty)
		}
		n *= d
	}
	if len(x) != n {
		return activations{}, fmt.Errorf("%d values for shape %v: %w", len(x), shape, ErrShape)
	}
	if i, ok := firstNonFinite(x); ok {
		return activations{}, fmt.Errorf("activation %s is %v: %w", indexIn(i, shape), x[i], ErrNonFinite)
	}
	a := activations{x: x, seq: shape[0], batch: 1}
	if len(shape) == 3 {
		a.batch = shape[1]
		if batchFirst {
			a = activations{x: x, seq: shape[1], batch: shape[0], batchFirst: true}
		}
	}
	return a, nil
}

// indexIn writes the flat index i of a row-major array as "[i0, i1, …]".
func indexIn(i int, shape []int) string {
	idx := make([]string, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = fmt.Sprint(i % shape[d])
		i /= shape[d]
	}
	return "[" + strings.Join(idx, ", ") + "]"
}
