package chanprune

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync/atomic"
	"unsafe"
)

// A Layer is a linear layer prepared for serving: its weight packed once
// for the dense micro-kernel, in float32 or a 16-bit format
// (WithWeightFormat), either whole (NewLayer) or compacted to the input
// channels that pruning keeps (Compact). It is read-only after
// construction and safe for concurrent use; Forward allocates nothing in
// steady state. A call of up to 8 tokens streams the weight once (gemv.go);
// WithWorkers bounds the goroutines of each call.
type Layer struct {
	in, out int
	kept    []int // ascending
	hasBias bool
	tie     Tie // at CompactByScores' cut
	workers int
	prod    *product
}

// NewLayer prepares the dense layer, for serving it unpruned or to compare
// with its pruned form.
func NewLayer(l Linear, opts ...Option) (*Layer, error) {
	if err := checkLayer(l); err != nil { // before l.In sizes a slice
		return nil, err
	}
	all := make([]int, l.In)
	for c := range all {
		all[c] = c
	}
	return Compact(l, all, opts...)
}

// CompactByScores prunes the NumPruned(In, ratio) lowest-scoring channels,
// or with WithGroups the lowest-scoring groups (the channels Evaluate
// measures), and compacts the rest.
func CompactByScores(l Linear, scores []float32, ratio float64, opts ...Option) (*Layer, error) {
	if err := checkRatio(ratio); err != nil {
		return nil, err
	}
	if err := checkLayer(l); err != nil {
		return nil, err
	}
	g, err := newGrouping(newConfig(opts), l.In)
	if err != nil {
		return nil, err
	}
	if err := g.reduceScores(scores); err != nil {
		return nil, err
	}
	order, perm := make([]int32, l.In), make([]int32, l.In)
	g.orderChannels(order)
	groups, k := g.cut(ratio)
	splitChannels(perm, order, k, make([]bool, l.In))
	keep := make([]int, l.In-k)
	for i, c := range perm[:l.In-k] {
		keep[i] = int(c)
	}
	layer, err := Compact(l, keep, opts...)
	if err == nil {
		layer.tie = g.tie(groups)
	}
	return layer, err
}

// Compact keeps the input channels listed in keep (strictly increasing, in
// [0, In)) and packs their columns of the weight once. With WithGroups,
// keep must list whole groups.
func Compact(l Linear, keep []int, opts ...Option) (*Layer, error) {
	if err := checkLayer(l); err != nil {
		return nil, err
	}
	if err := checkKeep(keep, l.In); err != nil {
		return nil, err
	}
	wk := make([]float32, l.Out*len(keep))
	for o := range l.Out {
		for i, c := range keep {
			wk[o*len(keep)+i] = l.Weight[o*l.In+c]
		}
	}
	return compactColumns(l.In, l.Out, keep, wk, l.Bias, opts)
}

// compactColumns builds the Layer of in-wide input rows from its kept
// columns alone: weight is [out, len(keep)], the columns of the channels
// keep, and bias [out] or empty. It checks all of that, so that a Layer
// read from a file (LoadLayer) or repaired (RepairedLayer.Layer) takes
// memory in the kept columns, never in in. It rounds weight in place to
// the format and keeps keep and bias only as copies.
func compactColumns(in, out int, keep []int, weight, bias []float32, opts []Option) (*Layer, error) {
	cfg := newConfig(opts)
	if cfg.methodSet {
		return nil, fmt.Errorf("WithMethod(%v): a Layer has no evaluation method, the option is for NewEvaluator: %w", cfg.method, ErrOption)
	}
	kern, err := selectKernel(cfg.kernel)
	if err != nil {
		return nil, err
	}
	if cfg.format < Float32 || cfg.format > Float16 {
		return nil, fmt.Errorf("WithWeightFormat(%v): %w", cfg.format, ErrOption)
	}
	depth := len(keep)
	if in <= 0 || out <= 0 || in > math.MaxInt32 || depth > 0 && out > math.MaxInt/depth || len(weight) != out*depth {
		return nil, fmt.Errorf("layer: weight has %d values for %d outputs and %d kept of %d channels: %w", len(weight), out, depth, in, ErrShape)
	}
	if len(bias) != 0 && len(bias) != out {
		return nil, fmt.Errorf("layer: bias has %d values, want Out = %d or none: %w", len(bias), out, ErrShape)
	}
	if err := checkKeep(keep, in); err != nil {
		return nil, err
	}
	if i, ok := firstNonFinite(weight); ok {
		return nil, fmt.Errorf("layer: weight [%d, %d] is %v: %w", i/depth, keep[i%depth], weight[i], ErrNonFinite)
	}
	if i, ok := firstNonFinite(bias); ok {
		return nil, fmt.Errorf("layer: bias [%d] is %v: %w", i, bias[i], ErrNonFinite)
	}
	g, err := groupLayout(cfg, in)
	if err != nil {
		return nil, err
	}
	if err := g.wholeGroups(keep); err != nil {
		return nil, err
	}
	if err := roundWeights(weight, cfg.format, depth, keep); err != nil {
		return nil, err
	}
	channels := make([]int32, depth)
	for i, c := range keep {
		channels[i] = int32(c)
	}
	prod := newProduct(kern, weight, bias, channels, in, out)
	prod.storeIn(cfg.format)
	return &Layer{
		in: in, out: out, kept: slices.Clone(keep), hasBias: len(bias) > 0, workers: cfg.workers,
		prod: prod,
	}, nil
}

// checkKeep checks that keep lists strictly increasing channels in [0, in).
func checkKeep(keep []int, in int) error {
	for i, c := range keep {
		if c < 0 || c >= in || i > 0 && c <= keep[i-1] {
			return fmt.Errorf("keep[%d] = %d: want strictly increasing channels in [0, %d): %w", i, c, in, ErrShape)
		}
	}
	return nil
}

// roundWeights rounds the compacted weight w ([out, depth], columns the
// input channels keep) to format f in place, where f is a 16-bit format; a
// value f cannot hold as a finite number is an error.
func roundWeights(w []float32, f WeightFormat, depth int, keep []int) error {
	if f == Float32 {
		return nil
	}
	for i, v := range w {
		h, ok := narrow(f, v)
		if !ok {
			return fmt.Errorf("weight[%d, %d] = %v: beyond the range of %v: %w", i/depth, keep[i%depth], v, f, ErrNonFinite)
		}
		w[i] = widen(f, h)
	}
	return nil
}

// In returns the width of the full input rows; Out the outputs.
func (l *Layer) In() int  { return l.in }
func (l *Layer) Out() int { return l.out }

// Kept returns the kept input channels, ascending: the columns of Weight
// and the layout ForwardCompact expects.
func (l *Layer) Kept() []int { return slices.Clone(l.kept) }

// Tie returns the equal scores that CompactByScores' cut split, as
// Metrics.Tie reports them; the zero Tie for a layer from NewLayer or
// Compact.
func (l *Layer) Tie() Tie { return l.tie }

// Format returns the format the layer stores its weight in
// (WithWeightFormat).
func (l *Layer) Format() WeightFormat {
	if l.prod == nil {
		return Float32
	}
	return l.prod.format
}

// Kernel returns the name of the kernel the layer runs ("" for a Layer
// not made by its constructors).
func (l *Layer) Kernel() string {
	if l.prod == nil {
		return ""
	}
	return l.prod.kern.name
}

// Weight returns the compacted weight, [Out, len(Kept())] row-major: for a
// 16-bit layer, its weights widened to float32 (the values it multiplies).
func (l *Layer) Weight() []float32 {
	if l.prod == nil {
		return nil
	}
	depth, nr := len(l.kept), l.prod.kern.nr
	packed := l.prod.weight
	if packed == nil {
		packed = make([]float32, len(l.prod.weight16))
		l.prod.kern.unpack16(packed, l.prod.weight16, l.prod.format)
	}
	w := make([]float32, l.out*depth)
	for o := range l.out {
		unpackWeightRow(w[o*depth:(o+1)*depth], packed, o, depth, nr)
	}
	return w
}

// Bias returns a copy of the bias, or nil for a layer without one.
func (l *Layer) Bias() []float32 {
	if !l.hasBias {
		return nil
	}
	return slices.Clone(l.prod.bias[:l.out])
}

// Forward sets dst ([T, Out]) to the layer's output for x ([T, In], the
// full input rows; the kept channels are gathered on the fly). NaN and Inf
// propagate as they would in PyTorch. dst must not share memory with x
// (ErrShape).
func (l *Layer) Forward(dst, x []float32) error {
	if err := l.check(dst, x, l.in); err != nil {
		return err
	}
	calls := forwardCalls.Add(1)
	defer forwardCalls.Add(-1)
	l.prod.run(dst, x, l.workerCount(int(calls)))
	return nil
}

// ForwardCompact is Forward for rows already compacted to the kept
// channels, [T, len(Kept())].
// With no channel kept, x is empty and dst's length gives T.
func (l *Layer) ForwardCompact(dst, x []float32) error {
	if l.prod == nil {
		return errZeroLayer
	}
	if len(l.kept) == 0 {
		if len(x) != 0 || len(dst) == 0 || len(dst)%l.out != 0 {
			return fmt.Errorf("forward: no channels kept: want an empty x and a dst of T·%d: %w", l.out, ErrShape)
		}
		for t := 0; t < len(dst); t += l.out {
			copy(dst[t:t+l.out], l.prod.bias)
		}
		return nil
	}
	if err := l.check(dst, x, len(l.kept)); err != nil {
		return err
	}
	calls := forwardCalls.Add(1)
	defer forwardCalls.Add(-1)
	l.prod.runCompact(dst, x, l.workerCount(int(calls)))
	return nil
}

func (l *Layer) check(dst, x []float32, width int) error {
	if l.prod == nil {
		return errZeroLayer
	}
	if len(x) == 0 {
		return fmt.Errorf("forward: x has no rows: %w", ErrEmpty)
	}
	if len(x)%width != 0 {
		return fmt.Errorf("forward: x has %d values, not rows of %d: %w", len(x), width, ErrShape)
	}
	if t := len(x) / width; len(dst) != t*l.out {
		return fmt.Errorf("forward: dst has %d values, want %d·%d: %w", len(dst), t, l.out, ErrShape)
	}
	if overlap(dst, x) {
		return fmt.Errorf("forward: dst shares memory with x: %w", ErrShape)
	}
	return nil
}

// overlap reports whether a and b share memory. The kernels read x while
// they write dst, from several workers (at T ≤ 8 x itself, unpacked).
func overlap(a, b []float32) bool {
	return len(a) > 0 && len(b) > 0 &&
		uintptr(unsafe.Pointer(&a[0])) <= uintptr(unsafe.Pointer(&b[len(b)-1])) &&
		uintptr(unsafe.Pointer(&b[0])) <= uintptr(unsafe.Pointer(&a[len(a)-1]))
}

// errZeroLayer refuses a Layer not made by its constructors, which has
// no weight to multiply.
var errZeroLayer = fmt.Errorf("forward: a Layer not made by NewLayer, Compact or CompactByScores: %w", ErrNil)

// forwardCalls counts the Forward and ForwardCompact calls in flight, of
// all Layers.
var forwardCalls atomic.Int32

// workerCount returns the workers of a call when calls are in flight (this
// one among them): the call's share of GOMAXPROCS, the processors the other
// calls do not run on, at most WithWorkers's bound.
func (l *Layer) workerCount(calls int) int {
	share := max(1, runtime.GOMAXPROCS(0)-calls+1)
	if l.workers > 0 {
		return min(l.workers, share)
	}
	return share
}
