package chanprune

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
)

// maxIterativeChannels bounds iterative's layers: its scores are positions,
// exact as float32 up to 2^24.
const maxIterativeChannels = 1 << 24

// iterative is Model-Optimizer's IterativeChannelContributionHook. Batch i
// is iteration i of Iterations. With P the channels pruned so far, for
// every token t of the batch:
//
//	y_t  = x_t·Wᵀ + b                 the layer's output
//	y_Pt = (x_t with P zeroed)·Wᵀ     no bias
//	α_t  = 1, or ‖y_Pt‖ / (‖y_t‖ + 1e-8) with scale-by-magnitude
//	s_t  = α_t·y_t − y_Pt
//	contrib_{t,c} = sqrt(‖s_t‖² + 2·x_{t,c}·(s_t·W[:,c]) + x_{t,c}²·‖W[:,c]‖² + 1e-8)
//
// (a sum under the root that rounding makes negative counts as 0). The
// mean over the batch's tokens is added to an accumulator; when the
// schedule (scheduledPrunes) has iteration i prune m > 0 channels, the m
// outside P with the smallest accumulated contribution, ties to the lower
// index, join P in that order and the accumulator restarts from zero.
// (Model-Optimizer's hook ranks by the pruning batch's contributions alone,
// leaving its accumulator unused; this follows issue 6's definition.)
//
// Each batch costs three products, x·Wᵀ, (x with P zeroed)·Wᵀ and s·W,
// run in float32 on the SIMD kernels with W and Wᵀ packed once; the bias
// and everything else is added in float64.
//
// A channel's score is its position in the pruning order, 0 for the first
// pruned. After all Iterations batches every channel is pruned. Before,
// the channels not yet pruned follow the pruned ones by ascending
// accumulator, ties to the lower index: by index alone right after a
// prune, when the accumulator has just restarted.
type iterative struct {
	Pruned      []int32   `json:"pruned"`      // P, in pruning order
	Accumulator []float64 `json:"accumulator"` // Σ mean contributions since the last prune; 0 on P

	iterations       int
	scaleByMagnitude bool
	isPruned         []bool
	bias             []float64 // b, or zeros
	colSumSq         []float64 // ‖W[:,c]‖²
	forward          *product  // x ↦ x·Wᵀ
	backward         *product  // s ↦ s·W

	// Scratch, grown as needed.
	xP       []float32 // x with P zeroed, [tokens, in]
	y, yP, s []float32 // [tokens, out]
	sW       []float32 // s·W, [tokens, in]
	sNormSq  []float64 // ‖s_t‖²
	mean     []float64 // the batch's mean contributions
}

func newIterative(layer Linear, opts EstimatorOptions) (scorer, error) {
	switch opts.Calibration {
	case "", "scale-by-magnitude", "scale_by_magnitude": // the second is Model-Optimizer's spelling
	default:
		return nil, fmt.Errorf("iterative: Calibration %q: want \"\", scale-by-magnitude or scale_by_magnitude: %w", opts.Calibration, ErrEstimator)
	}
	if opts.Iterations < 1 || opts.Iterations > math.MaxInt32 {
		return nil, fmt.Errorf("iterative: Iterations %d: want 1 to %d, the number of batches: %w", opts.Iterations, math.MaxInt32, ErrEstimator)
	}
	if layer.In > maxIterativeChannels || layer.Out > math.MaxInt32 {
		return nil, fmt.Errorf("iterative: In = %d, Out = %d: want at most %d and %d: %w",
			layer.In, layer.Out, maxIterativeChannels, math.MaxInt32, ErrEstimator)
	}
	kern, err := selectKernel("")
	if err != nil {
		return nil, err
	}
	in, out := layer.In, layer.Out
	it := &iterative{
		Accumulator:      make([]float64, in),
		iterations:       opts.Iterations,
		scaleByMagnitude: opts.Calibration != "",
		isPruned:         make([]bool, in),
		bias:             make([]float64, out),
		forward:          newProduct(kern, layer.Weight, nil, allChannels(make([]int32, in)), in, out),
		backward:         newProduct(kern, transpose(layer.Weight, out, in), nil, allChannels(make([]int32, out)), out, in),
	}
	it.colSumSq, _ = weightColumns(layer)
	for o, v := range layer.Bias {
		it.bias[o] = float64(v)
	}
	return it, nil
}

// scheduledPrunes returns how many of channels the first k of iterations
// iterations prune in all, for k from 0 to iterations; iteration i prunes
// scheduledPrunes(i+1) − scheduledPrunes(i). With q = channels div
// iterations and r = channels mod iterations, iteration i prunes q+1
// channels when i < r and q otherwise if channels ≥ iterations; otherwise
// iteration ⌊j·iterations/channels⌋ − 1 prunes one for j = 1…channels and
// the rest prune none. Model-Optimizer's get_pruning_schedule, in closed
// form: channel j is pruned within the first k iterations when
// ⌊j·iterations/channels⌋ ≤ k, that is when j·iterations < (k+1)·channels.
func scheduledPrunes(channels, iterations, k int) int {
	if channels >= iterations {
		q, r := channels/iterations, channels%iterations
		return k*q + min(k, r)
	}
	return int(((int64(k)+1)*int64(channels) - 1) / int64(iterations))
}

func (it *iterative) observe(a activations) error {
	if a.index >= it.iterations {
		return fmt.Errorf("batch %d is beyond the %d iterations given: %w", a.index, it.iterations, ErrEstimator)
	}
	in, out, tokens := len(it.isPruned), len(it.bias), a.tokens()
	it.xP = zeroed(it.xP, tokens*in)
	it.y, it.yP, it.s = zeroed(it.y, tokens*out), zeroed(it.yP, tokens*out), zeroed(it.s, tokens*out)
	it.sW = zeroed(it.sW, tokens*in)
	it.sNormSq, it.mean = zeroed(it.sNormSq, tokens), zeroed(it.mean, in)

	copy(it.xP, a.x)
	for t := range tokens {
		for _, c := range it.Pruned {
			it.xP[t*in+int(c)] = 0
		}
	}
	workers := runtime.GOMAXPROCS(0)
	it.forward.run(it.y, a.x, workers)
	it.forward.run(it.yP, it.xP, workers)
	it.outputChange(tokens)
	it.backward.run(it.sW, it.s, workers)
	it.contributions(a.x, tokens)
	for c, v := range it.mean {
		if !it.isPruned[c] && !isFinite(v) {
			return fmt.Errorf("the layer's output overflows float32: %w", ErrNonFinite)
		}
	}

	for c, v := range it.mean {
		if !it.isPruned[c] {
			it.Accumulator[c] += v
		}
	}
	if m := scheduledPrunes(in, it.iterations, a.index+1) - scheduledPrunes(in, it.iterations, a.index); m > 0 {
		for _, c := range it.unpruned()[:m] {
			it.Pruned = append(it.Pruned, c)
			it.isPruned[c] = true
		}
		clear(it.Accumulator)
	}
	return nil
}

// outputChange sets s_t = α_t·y_t − y_Pt and ‖s_t‖² for every token, with
// y_t = it.y + b.
func (it *iterative) outputChange(tokens int) {
	out := len(it.bias)
	for t := range tokens {
		y, yP, s := it.y[t*out:(t+1)*out], it.yP[t*out:(t+1)*out], it.s[t*out:(t+1)*out]
		alpha := 1.0
		if it.scaleByMagnitude {
			var yy, pp float64
			for o, v := range y {
				yo, po := float64(v)+it.bias[o], float64(yP[o])
				yy += yo * yo
				pp += po * po
			}
			alpha = math.Sqrt(pp) / (math.Sqrt(yy) + 1e-8)
		}
		var ss float64
		for o, v := range y {
			s[o] = float32(alpha*(float64(v)+it.bias[o]) - float64(yP[o]))
			ss += float64(s[o]) * float64(s[o])
		}
		it.sNormSq[t] = ss
	}
}

// contributions sets it.mean to every channel's mean contribution over the
// batch's tokens.
func (it *iterative) contributions(x []float32, tokens int) {
	in := len(it.mean)
	for t := range tokens {
		sW, ss := it.sW[t*in:(t+1)*in], it.sNormSq[t]
		for c, v := range x[t*in : (t+1)*in] {
			xc := float64(v)
			sq := ss + 2*xc*float64(sW[c]) + xc*xc*it.colSumSq[c]
			it.mean[c] += math.Sqrt(max(sq, 0) + 1e-8)
		}
	}
	for c := range it.mean {
		it.mean[c] /= float64(tokens)
	}
}

// unpruned returns the channels outside P by ascending accumulator, ties
// to the lower index.
func (it *iterative) unpruned() []int32 {
	rest := make([]int32, 0, len(it.isPruned)-len(it.Pruned))
	for c, p := range it.isPruned {
		if !p {
			rest = append(rest, int32(c))
		}
	}
	slices.SortFunc(rest, func(a, b int32) int {
		if c := cmp.Compare(it.Accumulator[a], it.Accumulator[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return rest
}

func (it *iterative) scores() []float32 {
	s := make([]float32, len(it.isPruned))
	for pos, c := range append(slices.Clone(it.Pruned), it.unpruned()...) {
		s[c] = float32(pos)
	}
	return s
}

func (it *iterative) restore(in, batches int) error {
	if batches > it.iterations {
		return fmt.Errorf("%d batches observed of %d iterations: %w", batches, it.iterations, ErrState)
	}
	if want := scheduledPrunes(in, it.iterations, batches); len(it.Pruned) != want {
		return fmt.Errorf("%d channels pruned after %d of %d iterations, want %d: %w", len(it.Pruned), batches, it.iterations, want, ErrState)
	}
	for _, c := range it.Pruned {
		if c < 0 || int(c) >= in || it.isPruned[c] {
			return fmt.Errorf("pruned channel %d is out of range or repeated: %w", c, ErrState)
		}
		it.isPruned[c] = true
	}
	if err := checkStateVector("accumulator", it.Accumulator, in, 0, maxStateSum); err != nil {
		return err
	}
	for _, c := range it.Pruned {
		if it.Accumulator[c] != 0 {
			return fmt.Errorf("accumulator[%d] = %v for a pruned channel, want 0: %w", c, it.Accumulator[c], ErrState)
		}
	}
	return nil
}

// transpose returns the [cols, rows] transpose of a row-major [rows, cols]
// matrix.
func transpose(m []float32, rows, cols int) []float32 {
	t := make([]float32, len(m))
	for r := range rows {
		for c, v := range m[r*cols : (r+1)*cols] {
			t[c*rows+r] = v
		}
	}
	return t
}
