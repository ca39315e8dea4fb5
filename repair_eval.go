package chanprune

import "fmt"

// Evaluating a repair: with y'' = x_K·W_K'ᵀ + b' the repaired layer's
// output, the metrics need y'' and d = y − y'' = x·Dᵀ + δ, where D is the
// out×in difference of W and the repaired weight (W_K − W_K' on the kept
// channels, W_P on the pruned ones) and δ = b − b'. Both come from one
// evaluation of the augmented layer [W'' | D | δ] (W'' being W_K' with
// zero columns on P) on inputs [x | x | 1]: its first In channels kept give
// y'' (bias b'), the other In+1 pruned give d, formed directly as the seed
// forms its d, so no cancellation of y against y'' enters the RMSE. The
// probe is an Evaluator like any other, direct or Gram as it plans.

// A Repair says how an evaluation repairs the layer after pruning.
type Repair struct {
	Mode Compensation
	Damp float64 // lstsq's ridge damping; DefaultDamp is the usual choice
	// Fit is the fit set; nil fits the repair on the evaluated batches
	// (Evaluate and Sweep only: a Stream cannot look ahead).
	Fit *Fit
}

// repairScratch is what an Evaluator keeps for repairs.
type repairScratch struct {
	layer Linear    // the layer, unpacked
	x2    []float32 // an augmented batch [x | x | 1]
	fit   *Fit      // the fit set of the evaluated batches
}

// repairState returns the repair scratch, unpacking the layer on first use.
func (e *Evaluator) repairState() *repairScratch {
	if e.repair == nil {
		l := Linear{Weight: make([]float32, e.out*e.in), In: e.in, Out: e.out, Bias: e.bias[:e.out]}
		for o := range e.out {
			unpackWeightRow(l.Weight[o*e.in:(o+1)*e.in], e.weight, o, e.in, e.kern.nr)
		}
		e.repair = &repairScratch{layer: l}
	}
	return e.repair
}

// fitOf returns r's fit set, or one formed from batches when r has none.
func (e *Evaluator) fitOf(r Repair, batches [][]float32) (*Fit, error) {
	if r.Fit != nil || r.Mode == CompensateNone {
		return r.Fit, nil
	}
	rs := e.repairState()
	if rs.fit == nil {
		rs.fit = e.NewFit()
	}
	rs.fit.reset()
	for b, x := range batches {
		if err := rs.fit.Observe(x); err != nil {
			return nil, &BatchError{b, err}
		}
	}
	return rs.fit, nil
}

// augment sets the scratch to the augmented batch [x | x | 1] and returns it.
func (e *Evaluator) augment(x []float32) []float32 {
	rs, in := e.repairState(), e.in
	tokens, in2 := len(x)/in, 2*in+1
	if cap(rs.x2) < tokens*in2 {
		rs.x2 = make([]float32, tokens*in2)
	}
	x2 := rs.x2[:tokens*in2]
	for t := range tokens {
		row, dst := x[t*in:(t+1)*in], x2[t*in2:(t+1)*in2]
		copy(dst, row)
		copy(dst[in:], row)
		dst[2*in] = 1
	}
	return x2
}

// A repairProbe evaluates one repaired layer against the original.
type repairProbe struct {
	layer RepairedLayer
	e     *Evaluator // on the augmented layer, its first In channels kept
	m     Metrics
	one   [1][]float32
}

// newRepairProbe fits r on fit for the pruned channels and builds the
// Evaluator of its augmented layer.
func (e *Evaluator) newRepairProbe(fit *Fit, isPruned []bool, r Repair) (*repairProbe, error) {
	orig := e.repairState().layer
	rl, err := fit.repair(orig, isPruned, r.Mode, r.Damp)
	if err != nil {
		return nil, err
	}
	in, in2, k := e.in, 2*e.in+1, len(rl.Kept)
	w2 := make([]float32, e.out*in2)
	for o := range e.out {
		w, row := orig.Weight[o*in:(o+1)*in], w2[o*in2:(o+1)*in2]
		copy(row[in:], w)
		for a, c := range rl.Kept {
			v := rl.Weight[o*k+a]
			row[c] = v
			row[in+c] = float32(float64(w[c]) - float64(v))
		}
		row[2*in] = float32(float64(orig.Bias[o]) - float64(rl.Bias[o]))
	}
	pe, err := NewEvaluator(Linear{Weight: w2, Bias: rl.Bias, In: in2, Out: e.out},
		WithKernel(e.kern.name), WithWorkers(e.workers), WithMethod(e.method))
	if err != nil {
		return nil, err
	}
	for p := range pe.order { // the augmented channels In … 2·In pruned first
		pe.order[p] = int32((p + in) % in2)
	}
	return &repairProbe{layer: rl, e: pe}, nil
}

// observe evaluates the augmented batch x2 of batch b (x) and returns its
// sums, the method that ran and whether they are uncertified.
func (p *repairProbe) observe(x2, x []float32, b int) (sums, Method, bool, error) {
	p.one[0] = x2
	defer func() { p.one[0] = nil }()
	in := p.e.in / 2
	if err := p.e.measure(&p.m, p.one[:], in+1); err != nil {
		return sums{}, 0, false, nonFiniteBatch(b, x, in)
	}
	return p.e.batchSums[0], p.e.ran[0], p.m.Uncertified > 0, nil
}

// EvaluateRepaired is Evaluate with the layer repaired by r after pruning:
// the metrics compare the layer's output with the repaired layer's. With
// r.Mode CompensateNone it returns Evaluate's metrics bit for bit.
func (e *Evaluator) EvaluateRepaired(batches [][]float32, scores []float32, ratio float64, r Repair) (Metrics, error) {
	var m Metrics
	if err := checkRepair(r.Mode, r.Damp); err != nil {
		return m, err
	}
	if r.Mode == CompensateNone {
		err := e.EvaluateTo(&m, batches, scores, ratio)
		return m, err
	}
	if err := e.acquire("Evaluate"); err != nil {
		return m, err
	}
	defer e.release()
	if err := checkRatio(ratio); err != nil {
		return m, err
	}
	if err := checkScores(scores, e.in); err != nil {
		return m, err
	}
	if err := checkBatches(batches, e.in); err != nil {
		return m, err
	}
	fit, err := e.fitOf(r, batches)
	if err != nil {
		return m, err
	}
	if err := e.evaluateRepaired(&m, batches, scores, ratio, r, fit); err != nil {
		return Metrics{}, err
	}
	return m, nil
}

// evaluateRepaired sets m to the metrics of the pair (scores, ratio) with
// the layer repaired by r fitted on fit, on a held Evaluator and checked
// arguments. It holds one repaired layer at a time.
func (e *Evaluator) evaluateRepaired(m *Metrics, batches [][]float32, scores []float32, ratio float64, r Repair, fit *Fit) error {
	k := NumPruned(e.in, ratio)
	pruneOrder(e.order, scores)
	splitChannels(e.perm, e.order, k, e.pruned)
	probe, err := e.newRepairProbe(fit, e.pruned, r)
	if err != nil {
		return err
	}
	*m = Metrics{Ratio: ratio, NumPruned: k, Tie: tieAt(e.order, scores, k), PerBatch: m.PerBatch[:0]}
	m.setRepair(r, fit)
	for b, x := range batches {
		s, method, uncertified, err := probe.observe(e.augment(x), x, b)
		if err != nil {
			return err
		}
		bm := batchMetrics(s, len(x)/e.in, e.out)
		bm.Method = method
		if uncertified {
			m.Uncertified++
		}
		m.RMSE += bm.RMSE
		m.CosineSimilarity += bm.CosineSimilarity
		m.PerBatch = append(m.PerBatch, bm)
	}
	m.RMSE /= float64(len(batches))
	m.CosineSimilarity /= float64(len(batches))
	m.Method = batchesMethod(m.PerBatch)
	return nil
}

// setRepair records r and its fit set in m; r.Fit nil means the evaluated
// batches were the fit set.
func (m *Metrics) setRepair(r Repair, fit *Fit) {
	m.Compensation, m.FitEvaluated = r.Mode, r.Fit == nil && r.Mode != CompensateNone
	if r.Mode == CompensateLstsq {
		m.Damp = r.Damp
	}
	if fit != nil {
		m.FitTokens = fit.Tokens()
	}
}

// errNeedFit refuses a repaired Stream without a fit set.
func errNeedFit(mode Compensation) error {
	return fmt.Errorf("stream: compensation %v needs a fit set (Repair.Fit): a stream cannot look ahead: %w", mode, ErrEmpty)
}
