package chanprune

import (
	"fmt"
	"slices"
)

// A RepairedLayer is a layer with its pruned input channels removed and the
// rest refitted by a Compensation: y” = x_K·Weightᵀ + Bias, ready to build
// a Layer (NewLayer with Kept's width) or to write out.
type RepairedLayer struct {
	Mode      Compensation
	Damp      float64   // the damp the lstsq repair used
	FitTokens int       // the rows of the fit set
	Kept      []int     // the kept input channels, ascending
	Pruned    []int     // the pruned input channels, ascending
	Weight    []float32 // W_K', [Out, len(Kept)] row-major
	Bias      []float32 // b', [Out]: a layer without bias gets one
	In, Out   int       // the original layer's shape
}

// Linear returns the repaired layer as a Linear of len(Kept) inputs, which
// reads the kept channels of the original input in order.
func (r RepairedLayer) Linear() Linear {
	return Linear{Weight: r.Weight, Bias: r.Bias, In: len(r.Kept), Out: r.Out}
}

// Layer returns the repaired layer ready to serve full-width input rows
// (Forward) or compact ones (ForwardCompact), as Compact does for an
// unrepaired one.
func (r RepairedLayer) Layer(opts ...Option) (*Layer, error) {
	k := len(r.Kept)
	if len(r.Weight) != r.Out*k || len(r.Bias) != r.Out {
		return nil, fmt.Errorf("repaired layer: weight %d and bias %d values for %d outputs and %d kept channels: %w",
			len(r.Weight), len(r.Bias), r.Out, k, ErrShape)
	}
	return compactColumns(r.In, r.Out, r.Kept, slices.Clone(r.Weight), r.Bias, opts)
}

// Repair fits mode's repair of layer on the fit set with the given pruned
// input channels removed (any order, no repeats) and damp (DefaultDamp is
// the usual choice; only lstsq uses it). The layer's In must be the fit
// set's. It does not modify layer or pruned.
func (f *Fit) Repair(layer Linear, pruned []int, mode Compensation, damp float64) (RepairedLayer, error) {
	if f.builder == nil {
		return RepairedLayer{}, fmt.Errorf("repair: %w", errZeroFit)
	}
	if err := checkLayer(layer); err != nil {
		return RepairedLayer{}, err
	}
	if layer.In != f.in {
		return RepairedLayer{}, fmt.Errorf("repair: layer has In = %d, the fit set %d: %w", layer.In, f.in, ErrShape)
	}
	isPruned := make([]bool, layer.In)
	for _, c := range pruned {
		if c < 0 || c >= layer.In || isPruned[c] {
			return RepairedLayer{}, fmt.Errorf("repair: pruned channel %d is out of range [0, %d) or repeated: %w", c, layer.In, ErrShape)
		}
		isPruned[c] = true
	}
	r, _, err := f.repair(layer, isPruned, mode, damp)
	return r, err
}

// A repairFit is what a repair takes from the fit set for one pruned set:
// the kept and pruned channels (ascending), the mean m, and Cᵀ (p×k; nil
// for none, bias, or no channel kept or pruned), the kept channels'
// prediction of each pruned one, x_P − m_P ≈ (x_K − m_K)·Cᵀ. An Evaluator
// keeps one, so that fitting allocates nothing in steady state.
type repairFit struct {
	kept, pruned []int
	mean         []float64 // nil for none
	ct           []float64
	solver       ridgeSolver
}

// fitTo fits mode's repair on f for the pruned channels.
func (rf *repairFit) fitTo(f *Fit, isPruned []bool, mode Compensation, damp float64) error {
	if err := checkRepair(mode, damp); err != nil {
		return err
	}
	if f.tokens == 0 && mode != CompensateNone {
		return fmt.Errorf("repair: the fit set has no batches: %w", ErrEmpty)
	}
	rf.kept, rf.pruned, rf.mean, rf.ct = rf.kept[:0], rf.pruned[:0], rf.mean[:0], nil
	for c, p := range isPruned {
		if p {
			rf.pruned = append(rf.pruned, c)
		} else {
			rf.kept = append(rf.kept, c)
		}
	}
	if mode == CompensateNone {
		return nil
	}
	rf.mean = f.meanInto(rf.mean)
	if mode == CompensateLstsq && len(rf.kept) > 0 && len(rf.pruned) > 0 {
		if err := rf.solver.solve(f, rf.kept, rf.pruned, damp); err != nil {
			return err
		}
		rf.ct = rf.solver.ct
	}
	return nil
}

// repair is Repair on a checked layer and pruned set. It also returns Cᵀ
// (repairFit).
func (f *Fit) repair(layer Linear, isPruned []bool, mode Compensation, damp float64) (r RepairedLayer, ct []float64, err error) {
	var rf repairFit
	if err := rf.fitTo(f, isPruned, mode, damp); err != nil {
		return r, nil, err
	}
	in, out := layer.In, layer.Out
	r = RepairedLayer{Mode: mode, Damp: damp, FitTokens: f.tokens, In: in, Out: out, Kept: rf.kept, Pruned: rf.pruned}
	ct = rf.ct
	// v = m_P − Cᵀ·m_K, what the bias absorbs per pruned channel.
	k := len(r.Kept)
	v := make([]float64, len(r.Pruned))
	if mode != CompensateNone {
		meanKept := gather(rf.mean, r.Kept)
		for j, c := range r.Pruned {
			v[j] = rf.mean[c]
			if ct != nil {
				v[j] -= dot64(ct[j*k:(j+1)*k], meanKept)
			}
		}
	}
	r.Weight, r.Bias = make([]float32, out*k), make([]float32, out)
	shift := f.weightShift(layer, r.Kept, r.Pruned, ct) // W_P·Cᵀ, [out, k]
	for o := range out {
		w := layer.Weight[o*in : (o+1)*in]
		var b float64
		if len(layer.Bias) > 0 {
			b = float64(layer.Bias[o])
		}
		for j, c := range r.Pruned {
			b += float64(w[c]) * v[j]
		}
		r.Bias[o] = float32(b)
		for a, c := range r.Kept {
			x := float64(w[c])
			if shift != nil {
				x += float64(shift[o*k+a])
			}
			r.Weight[o*k+a] = float32(x)
		}
	}
	return r, ct, nil
}

// gather returns x at the given indexes.
func gather(x []float64, idx []int) []float64 {
	g := make([]float64, len(idx))
	for i, c := range idx {
		g[i] = x[c]
	}
	return g
}

// weightShift returns W_P·Cᵀ ([out, k] row-major), nil where C is, formed
// by the gemm kernel: the rows of W are the product's inputs, their pruned
// channels gathered, and Cᵀ its weight. Float32 sums suffice here: the
// shift is rounded into the float32 W_K' anyway, and the metrics measure
// the weight as written (repair_eval.go).
func (f *Fit) weightShift(layer Linear, kept, pruned []int, ct []float64) []float32 {
	if ct == nil {
		return nil
	}
	k, p := len(kept), len(pruned)
	c := make([]float32, k*p) // C, [k, p]: the product's weight, one row per kept channel
	for j := range p {
		for a := range k {
			c[a*p+j] = float32(ct[j*k+a])
		}
	}
	channels := make([]int32, p)
	for j, ch := range pruned {
		channels[j] = int32(ch)
	}
	shift := make([]float32, layer.Out*k)
	newProduct(f.builder.kern, c, nil, channels, layer.In, k).run(shift, layer.Weight, f.workers)
	return shift
}
