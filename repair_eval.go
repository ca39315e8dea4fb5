package chanprune

import "fmt"

// Evaluating a repair: with y'' = x_K·W_K'ᵀ + b' the repaired layer's
// output, the metrics need y'' and d = y − y''. Writing the kept channels'
// prediction of the pruned ones x_P ≈ x_K·Cᵀ + v (C the lstsq
// coefficients, 0 for bias; v = m_P − Cᵀ·m_K), the residual
// r = x_P − x_K·Cᵀ − v = (x_P − m_P) − (x_K − m_K)·Cᵀ gives d = r·W_Pᵀ exactly, since
// W_K' = W_K + W_P·Cᵀ and b' = b + W_P·v. So one evaluation of the probe
// layer [W_K' | W_P] with bias b' on the inputs [x_K | r], its first
// len(K) channels kept and the rest pruned, yields y'' and d, the latter
// formed directly from the residual as the seed forms its d: the probe has
// the layer's own width, and runs on the direct or Gram path as it plans,
// certified like any evaluation. r is formed per batch by the gemm kernel
// from the centred rows x − m (a product of x_K − m_K with −Cᵀ),
// T·len(K)·len(P) multiply-adds: centred, channels whose mean dwarfs their
// spread do not cost r its digits. This probe is the route where H is not
// kept, and redoes a batch the fast route (repair_gram.go) cannot certify.

// A Repair says how an evaluation repairs the layer after pruning.
type Repair struct {
	Mode Compensation
	Damp float64 // lstsq's ridge damping; DefaultDamp is the usual choice
	// Fit is the fit set, of the layer's In; nil fits the repair on the
	// evaluated batches (Evaluate and Sweep only: a Stream cannot look
	// ahead).
	Fit *Fit
}

// repairScratch is what an Evaluator keeps for repairs.
type repairScratch struct {
	layer  Linear       // the layer, unpacked
	fit    *Fit         // the fit set of the evaluated batches
	norms  []outputNorm // ‖y‖² of each evaluated batch (repair_gram.go)
	fitted repairFit    // the fast route's pair: its fit and products
	gram   repairGram
	// fitWithNorms's: the fit being formed, its strip sink, and the
	// bias terms of the shifted rows.
	fitting *Fit
	fitSink stripSink
	side    fitSide // fitWithNorms's batches side by side
	uShift  []float64
	bbShift float64
	// shiftedBias's: b̃, the shift it is formed for, and its job
	bShift   []float64
	shifting []float32
	biasJob  job[repairScratch]
	fitMean  []float64 // a given fit set's mean
	bias     biasSibling
	shift    []float32 // shiftedNorms's: the shift, a block of rows and its column sums
	rows     []float32
	colSum   []float64
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

// fitOf returns r's fit set, or one formed from batches when r has none,
// and ‖y‖² of each batch where repaired evaluations take the fast route
// (repair_gram.go), else nil.
func (e *Evaluator) fitOf(r Repair, batches [][]float32) (*Fit, []outputNorm, error) {
	if r.Fit != nil || r.Mode == CompensateNone {
		if r.Fit == nil || r.Fit.tokens == 0 || !e.gramRepairs() {
			return r.Fit, nil, nil
		}
		rs := e.repairState()
		rs.fitMean = r.Fit.meanInto(rs.fitMean)
		return r.Fit, e.shiftedNorms(batches, rs.fitMean), nil
	}
	rs := e.repairState()
	if rs.fit == nil {
		rs.fit = e.NewFit()
	}
	if e.gramRepairs() {
		norms, err := e.fitWithNorms(rs.fit, batches)
		return rs.fit, norms, err
	}
	rs.fit.reset()
	for b, x := range batches {
		if err := rs.fit.Observe(x); err != nil {
			return nil, nil, &BatchError{b, err}
		}
	}
	return rs.fit, nil, nil
}

// A repairProbe evaluates one repaired layer against the original.
type repairProbe struct {
	layer    RepairedLayer
	e        *Evaluator // on [W_K' | W_P], b': the first len(Kept) channels kept
	resid    *product   // x ↦ −x_K·Cᵀ on centred rows; nil where C is 0
	mean     []float32  // the fit set's mean m
	in       int
	c, x3    []float32 // scratch: the product, and the probe's input [x_K | r]
	xs       []float32 // scratch: the centred rows x − m
	m        Metrics
	one      [1][]float32
	workers  int
	channels []int32 // K then P
	spent    float64 // what the direct path has cost (planStream)
}

// newRepairProbe fits r on fit for the pruned channels and builds the
// Evaluator of its probe layer.
func (e *Evaluator) newRepairProbe(fit *Fit, isPruned []bool, r Repair) (*repairProbe, error) {
	orig := e.repairState().layer
	rl, ct, err := fit.repair(orig, isPruned, r.Mode, r.Damp)
	if err != nil {
		return nil, err
	}
	in, k, p := e.in, len(rl.Kept), len(rl.Pruned)
	w3 := make([]float32, e.out*in)
	for o := range e.out {
		copy(w3[o*in:], rl.Weight[o*k:(o+1)*k])
		for j, c := range rl.Pruned {
			w3[o*in+k+j] = orig.Weight[o*in+c]
		}
	}
	pe, err := NewEvaluator(Linear{Weight: w3, Bias: rl.Bias, In: in, Out: e.out},
		WithKernel(e.kern.name), WithWorkers(e.workers), WithMethod(e.method))
	if err != nil {
		return nil, err
	}
	for i := range pe.order { // the residual channels k … in−1 pruned first
		pe.order[i] = int32((i + k) % in)
	}
	probe := &repairProbe{layer: rl, e: pe, in: in, workers: e.workerCount()}
	for _, c := range rl.Kept {
		probe.channels = append(probe.channels, int32(c))
	}
	for _, c := range rl.Pruned {
		probe.channels = append(probe.channels, int32(c))
	}
	probe.mean = make([]float32, in)
	if r.Mode != CompensateNone {
		for c, m := range fit.mean() {
			probe.mean[c] = float32(m)
		}
	}
	if ct != nil {
		negC := make([]float32, len(ct))
		for i, x := range ct {
			negC[i] = float32(-x)
		}
		probe.resid = newProduct(e.kern, negC, nil, probe.channels[:k], in, p)
	}
	return probe, nil
}

// augment sets the probe's input to [x_K | r] for batch x and returns it.
func (p *repairProbe) augment(x []float32) []float32 {
	in, k := p.in, len(p.layer.Kept)
	tokens, np := len(x)/in, in-k
	if cap(p.x3) < len(x) {
		p.x3 = make([]float32, len(x))
	}
	x3 := p.x3[:len(x)]
	p.xs = shiftRows(p.xs, x, p.mean)
	if p.resid != nil {
		if cap(p.c) < tokens*np {
			p.c = make([]float32, tokens*np)
		}
		p.resid.run(p.c[:tokens*np], p.xs, p.workers)
	}
	for t := range tokens {
		row, xs, dst := x[t*in:(t+1)*in], p.xs[t*in:(t+1)*in], x3[t*in:(t+1)*in]
		for i, c := range p.channels[:k] {
			dst[i] = row[c]
		}
		r := dst[k:]
		for j, c := range p.channels[k:] {
			r[j] = xs[c]
			if p.resid != nil {
				r[j] += p.c[t*np+j]
			}
		}
	}
	return x3
}

// observe evaluates batch b (x) by method, or as a stream plans it if
// method is Auto, and returns its sums, the method that ran and whether
// they are uncertified.
func (p *repairProbe) observe(x []float32, b int, method Method) (sums, Method, bool, error) {
	p.one[0] = p.augment(x)
	defer func() { p.one[0] = nil }()
	if method == Auto {
		method = p.e.planStream(p.one[:], 1, 1, &p.spent)
	}
	if err := p.e.measure(&p.m, p.one[:], p.in-len(p.layer.Kept), method); err != nil {
		return sums{}, 0, false, nonFiniteBatch(b, x, p.in, p.e.ran[0])
	}
	return p.e.batchSums[0], p.e.ran[0], p.m.Uncertified > 0, nil
}

// EvaluateRepaired is Evaluate with the layer repaired by r after pruning:
// the metrics compare the layer's output with the repaired layer's. With
// r.Mode CompensateNone it returns Evaluate's metrics bit for bit.
func (e *Evaluator) EvaluateRepaired(batches [][]float32, scores []float32, ratio float64, r Repair) (Metrics, error) {
	var m Metrics
	if err := e.EvaluateRepairedTo(&m, batches, scores, ratio, r); err != nil {
		return Metrics{}, err
	}
	return m, nil
}

// EvaluateRepairedTo is EvaluateRepaired into m, reusing m.PerBatch, as
// EvaluateTo is Evaluate: in steady state (the same shapes again) a
// repaired evaluation on the planned or Gram path allocates nothing. On an
// error m is undefined.
func (e *Evaluator) EvaluateRepairedTo(m *Metrics, batches [][]float32, scores []float32, ratio float64, r Repair) error {
	if m == nil {
		return fmt.Errorf("EvaluateRepairedTo: metrics: %w", ErrNil)
	}
	if err := e.checkRepairOn(r); err != nil {
		return err
	}
	if r.Mode == CompensateNone {
		return e.EvaluateTo(m, batches, scores, ratio)
	}
	if err := e.acquire("Evaluate"); err != nil {
		return err
	}
	defer e.release()
	if err := e.checkPair(batches, scores, ratio); err != nil {
		return err
	}
	if r.Mode == CompensateBias {
		return e.evaluateBias(m, batches, scores, ratio, r)
	}
	fit, norms, err := e.fitOf(r, batches)
	if err != nil {
		return err
	}
	return e.evaluateRepaired(m, batches, scores, ratio, r, fit, norms)
}

// evaluateRepaired sets m to the metrics of the pair (scores, ratio) with
// the layer repaired by r fitted on fit, on a held Evaluator and checked
// arguments: by the fast route given the batches' norms, else by the probe.
// It holds one repaired layer at a time.
func (e *Evaluator) evaluateRepaired(m *Metrics, batches [][]float32, scores []float32, ratio float64, r Repair, fit *Fit, norms []outputNorm) error {
	_ = e.groups.reduceScores(scores) // checked by the callers
	groups, k := e.groups.cut(ratio)
	if k == e.in { // lstsq with no channel kept is bias
		return e.evaluateBias(m, batches, scores, ratio, r)
	}
	e.groups.orderChannels(e.order)
	splitChannels(e.perm, e.order, k, e.pruned)
	*m = Metrics{Ratio: ratio, NumPruned: k, NumPrunedGroups: groups, GroupSize: e.groups.size, Tie: e.groups.tie(groups), PerBatch: m.PerBatch[:0]}
	m.setRepair(r, fit)
	var g *repairGram
	if norms != nil {
		rs := e.repairState()
		if err := rs.fitted.fitTo(fit, e.pruned, r.Mode, r.Damp); err != nil {
			return err
		}
		g = &rs.gram
		g.set(e, &rs.fitted)
	}
	var probe *repairProbe // made when first needed
	plan := Direct         // the probe redoes an uncertified batch
	if g == nil {
		var err error
		if probe, err = e.newRepairProbe(fit, e.pruned, r); err != nil {
			return err
		}
		plan = probe.e.plan(batches, 1, 1, false) // the probe has the layer's shape: plan all batches at once
	}
	end := 0 // of the group g last formed
	for b, x := range batches {
		var s sums
		method, uncertified := Gram, false
		if g != nil {
			if b == end {
				end = g.group(batches, b)
			}
			var ok bool
			s, ok = g.observe(x, b, norms[b])
			uncertified = !ok && e.method == Gram
			if ok || uncertified {
				m.addBatch(repairedBatch(s, method, uncertified, m, len(x)/e.in, e.out))
				continue
			}
		}
		if probe == nil {
			var err error
			if probe, err = e.newRepairProbe(fit, e.pruned, r); err != nil {
				return err
			}
		}
		var err error
		if s, method, uncertified, err = probe.observe(x, b, plan); err != nil {
			return err
		}
		m.addBatch(repairedBatch(s, method, uncertified, m, len(x)/e.in, e.out))
	}
	m.average()
	return nil
}

// repairedBatch returns the metrics of one batch, counting it in m if
// uncertified.
func repairedBatch(s sums, method Method, uncertified bool, m *Metrics, tokens, out int) BatchMetrics {
	bm := batchMetrics(s, tokens, out)
	bm.Method = method
	if uncertified {
		m.Uncertified++
	}
	return bm
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
