package chanprune

import (
	"fmt"
	"math"
	"runtime"
	"slices"
)

// obs is the greedy structured-OBS order (ZipLM): with the fit set's
// centred scatter S and A = S + λI, λ = damp·mean_c S_cc over all
// channels, fixed, it repeatedly removes the channel whose removal, with
// the remaining weights refitted by least squares, raises
// tr((W − W')·A·(W − W')ᵀ) least: the channel c minimising
// Σ_o W'_oc² / [A⁻¹]_cc for the current refitted W'. Removing q refits
// W' ← W' − W'_{:,q}·[A⁻¹]_{q,:} / [A⁻¹]_qq and downdates
// A⁻¹ ← A⁻¹ − [A⁻¹]_{:,q}·[A⁻¹]_{q,:} / [A⁻¹]_qq (rank one), so that A⁻¹
// stays the inverse over the remaining channels. Ties (costs equal as
// computed) go to the lower index; channels tied only in exact arithmetic,
// duplicates, are split by the inverse's rounding. A channel's score is
// its position in the order, 0 for the first removed, like iterative's:
// the order that lstsq compensation repairs best.
//
// Where every channel is constant on the fit set (S = 0) A is I, and the
// order is that of ‖W[:,c]‖.
//
// Cost: observing forms Σ xᵀx like a Fit (tokens·In²/2 multiply-adds on
// the Gram kernel); Scores inverts A once (In³, float64), forms
// Q = WᵀW once (Out·In²/2 on the Gram kernel) and then takes In steps of
// 3·In multiply-adds for each channel still in (about 1.5·In³ in all):
// the costs Σ_o W'_oc² are Q's diagonal, and refitting W' updates Q (W'
// itself is never formed). The state holds
// Σ x and Σ xᵀx in float64 (8·In² bytes, saved as JSON); the estimator
// also holds a copy of W (4·Out·In bytes) for Q, since the caller may
// reuse the layer's memory once NewEstimator returns.
type obs struct {
	Tokens int       `json:"tokens"`
	Shift  []float32 `json:"shift"` // μ₀, the first batch's column means (Fit)
	Sum    []float64 `json:"sum"`   // Σ_t (x_t − μ₀)
	XX     []float64 `json:"xx"`    // Σ_t (x_t − μ₀)ᵀ(x_t − μ₀), In×In row-major, upper triangle (the lower is 0)

	damp   float64
	weight []float32 // W, [out, in]
	fit    *Fit      // forms Σ xᵀx; its sums are Sum and XX
}

func newOBS(layer Linear, opts EstimatorOptions) (scorer, error) {
	damp := opts.Damp
	if damp == 0 {
		damp = DefaultDamp
	}
	kern, err := selectKernel("")
	if err != nil {
		return nil, err
	}
	fit := newFit(kern, layer.In, runtime.GOMAXPROCS(0), true)
	// A copy: the caller may reuse the weight's memory once NewEstimator returns.
	return &obs{Sum: fit.sum, XX: fit.xx, damp: damp, weight: slices.Clone(layer.Weight), fit: fit}, nil
}

func (o *obs) observe(a activations) error {
	if err := o.fit.Observe(a.x); err != nil {
		return err
	}
	o.Tokens, o.Shift = o.fit.tokens, o.fit.shift
	return nil
}

func (o *obs) restore(in, batches int) error {
	if len(o.Sum) != in || len(o.XX) != in*in || o.Tokens < 0 || (o.Tokens == 0) != (batches == 0) ||
		len(o.Shift) != in && (len(o.Shift) != 0 || batches != 0) {
		return fmt.Errorf("tokens %d, %d sums and %d products for %d channels after %d batches: %w",
			o.Tokens, len(o.Sum), len(o.XX), in, batches, ErrState)
	}
	for i := range in {
		if !isFinite(o.Sum[i]) || !(o.XX[i*in+i] >= 0) {
			return fmt.Errorf("channel %d: sum %v, Σx² %v: %w", i, o.Sum[i], o.XX[i*in+i], ErrState)
		}
		for j, v := range o.XX[i*in : (i+1)*in] {
			if !isFinite(v) || (j < i && v != 0) {
				return fmt.Errorf("Σ x_%d·x_%d is %v: %w", i, j, v, ErrState)
			}
		}
	}
	for i, v := range o.Shift {
		if !isFinite(float64(v)) {
			return fmt.Errorf("shift[%d] is %v: %w", i, v, ErrState)
		}
	}
	o.fit.sum, o.fit.xx, o.fit.tokens, o.fit.shift = o.Sum, o.XX, o.Tokens, o.Shift
	return nil
}

func (o *obs) scores() []float32 {
	s, err := o.scoresChecked()
	if err != nil {
		return nil
	}
	return s
}

// scoresChecked returns the scores, or an error where A is not positive
// definite.
func (o *obs) scoresChecked() ([]float32, error) {
	if err := o.fit.overflowCheck(); err != nil {
		return nil, fmt.Errorf("obs: %w", err)
	}
	in := o.fit.in
	_, scatter := o.fit.moments()
	all := make([]int, in)
	for c := range all {
		all[c] = c
	}
	hinv, err := ridgeSystem(nil, o.fit.scatterAt, all, o.damp)
	if err != nil {
		return nil, fmt.Errorf("obs: %w", err)
	}
	if !slices.ContainsFunc(all, func(c int) bool { return scatter[c*in+c] != 0 }) {
		for c := range in { // every channel constant: A = I, the order of ‖W[:,c]‖
			hinv[c*in+c] = 1
		}
	}
	if row, ok := cholesky(o.fit.builder.kern, hinv, in, o.fit.workers); !ok {
		return nil, fmt.Errorf("obs with damp %v: S + λI is not positive definite at channel %d: %w", o.damp, row, ErrNotPositiveDefinite)
	}
	// The columns of the inverse, four at a time (cholSolveRows: the same
	// bits as one at a time, so the grouping does not matter).
	inverse := make([]float64, in*in)
	kern := o.fit.builder.kern
	quads := (in + 3) / 4
	dots := make([][4]float64, quads) // per four columns, cholSolve4's scratch
	parallelRows(quads, o.fit.workers, func(q int) {
		c0, c1 := 4*q, min(in, 4*q+4)
		for c := c0; c < c1; c++ {
			inverse[c*in+c] = 1
		}
		cholSolveRows(kern, hinv, in, inverse[c0*in:c1*in], &dots[q])
	})
	// Q = W'ᵀW' (In×In, float64), so that a channel's cost Σ_o W'_oc² is
	// Q_cc and a step costs In² rather than Out·In: formed once like a
	// fit set's Σ xᵀx, the rows of W standing for tokens.
	wFit := newFit(o.fit.builder.kern, in, o.fit.workers, false)
	if err := wFit.Observe(o.weight); err != nil {
		return nil, fmt.Errorf("obs: %w", err)
	}
	q := wFit.xx
	for i := range in {
		for j := i + 1; j < in; j++ {
			q[j*in+i] = q[i*in+j]
		}
	}
	scores := make([]float32, in)
	active := make([]int, in) // the channels not yet removed, in order
	for c := range active {
		active[c] = c
	}
	hq, qq := make([]float64, in), make([]float64, in) // row p of A⁻¹ and of Q before the step
	f := make([]float64, in)                           // f_c = [A⁻¹]_pc / [A⁻¹]_pp
	factors := make([][2][4]float64, quads)            // per four rows: their axpys' factors
	for step := range in {
		at, best := 0, math.Inf(1)
		for i, c := range active {
			if cost := q[c*in+c] / inverse[c*in+c]; cost < best || i == 0 {
				at, best = i, cost
			}
		}
		p := active[at]
		scores[p] = float32(step)
		active = slices.Delete(active, at, at+1)
		copy(hq, inverse[p*in:(p+1)*in])
		copy(qq, q[p*in:(p+1)*in])
		d, qpp := hq[p], qq[p]
		for c, h := range hq {
			f[c] = h / d
		}
		// W'_c −= f_c·W'_p, so row a of A⁻¹ takes −f_a·(row p) and row a of
		// Q takes (f_a·Q_pp − Q_ap)·f − f_a·(row p of Q): three axpys a
		// row, on the rows still active (the others are never read again),
		// four at a time on the kernel's axpy4.
		parallelRows((len(active)+3)/4, o.fit.workers, func(qd int) {
			rows := active[4*qd : min(len(active), 4*qd+4)]
			if len(rows) < 4 {
				for _, a := range rows {
					qrow := q[a*in : (a+1)*in]
					axpy64(-f[a], hq, inverse[a*in:(a+1)*in])
					axpy64(f[a]*qpp-qrow[p], f, qrow)
					axpy64(-f[a], qq, qrow)
				}
				return
			}
			s := &factors[qd]
			var inv, qr [4][]float64
			for k, a := range rows {
				s[0][k], s[1][k] = -f[a], f[a]*qpp-q[a*in+p]
				inv[k], qr[k] = inverse[a*in:(a+1)*in], q[a*in:(a+1)*in]
			}
			kern.axpy4(hq, &s[0], inv[0], inv[1], inv[2], inv[3])
			kern.axpy4(f, &s[1], qr[0], qr[1], qr[2], qr[3])
			kern.axpy4(qq, &s[0], qr[0], qr[1], qr[2], qr[3])
		})
	}
	return scores, nil
}
