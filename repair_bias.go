package chanprune

import (
	"fmt"
	"slices"
)

// Bias compensation is the seed's pruning of a shifted problem: with m the
// fit set's mean (in float32, as the other routes centre with), xs = x − m
// and c₀ = b + W·m, the layer's output is y = xs·Wᵀ + c₀ and the
// bias-repaired one y” = x_K·W_Kᵀ + b + W_P·m_P = xs_K·W_Kᵀ + c₀: the
// seed's y' of the layer (W, c₀) on the rows xs. So a bias evaluation or
// sweep runs the seed's own machinery (a sweep's one G per batch for every
// pair, its certificate, its direct redo) on a sibling Evaluator that
// shares e's packed weight and H (WᵀW does not depend on the bias), the
// rows shifted one batch at a time. A sweep then costs about what the
// unrepaired one does, where the fast route spent T·p² per pair and batch.

// biasSibling is the sibling Evaluator of the layer with bias c₀ for the
// mean m, kept by e's repair scratch while m stays the same.
type biasSibling struct {
	e      *Evaluator
	mean   []float32 // m, the rows' shift
	bias   []float32 // c₀
	rows   []float32 // one shifted batch
	sets   [1]ScoreSet
	ratios [1]float64
	points []Point
}

// biasSiblingFor returns e's sibling for the fit set's mean.
func (e *Evaluator) biasSiblingFor(mean []float64) *biasSibling {
	rs := e.repairState()
	bs := &rs.bias
	if bs.e != nil && len(bs.mean) == len(mean) && slices.EqualFunc(bs.mean, mean, func(a float32, b float64) bool { return a == float32(b) }) {
		return bs
	}
	bs.mean = grow(bs.mean, e.in)
	for c, v := range mean {
		bs.mean[c] = float32(v)
	}
	bs.bias = grow(bs.bias, e.out)
	l := rs.layer
	for o := range e.out {
		b := float64(l.Bias[o])
		for c, w := range l.Weight[o*e.in : (o+1)*e.in] {
			b += float64(w) * float64(bs.mean[c])
		}
		bs.bias[o] = float32(b)
	}
	if bs.e == nil {
		bs.e = &Evaluator{
			in: e.in, out: e.out, kern: e.kern, workers: e.workers, method: e.method,
			weight: e.weight, // read only
			bias:   make([]float32, len(e.bias)),
			groups: grouping{size: e.groups.size, reduce: e.groups.reduce,
				scores: make([]float64, len(e.groups.scores)), order: make([]int32, len(e.groups.order))},
			order: make([]int32, e.in), perm: make([]int32, e.in), pruned: make([]bool, e.in),
		}
	}
	packBias(bs.e.bias, bs.bias)
	if e.layerGram == nil && e.gramRepairs() {
		e.buildLayerGram()
	}
	if lg := e.layerGram; lg != nil {
		// H and its diagonal shared; u = Wᵀc₀ and ‖c₀‖² as buildLayerGram forms them.
		slg := &layerGram{h: lg.h, diag: lg.diag, u: make([]float64, e.in), rounds: lg.rounds}
		for o := range e.out {
			b := float64(bs.bias[o])
			slg.bb += b * b
			for c, w := range l.Weight[o*e.in : (o+1)*e.in] {
				slg.u[c] += float64(w) * b
			}
		}
		bs.e.layerGram = slg
		if bs.e.gram == nil {
			bs.e.newGramBatch()
		}
	} else {
		bs.e.layerGram = nil // built by the sibling if it takes the Gram path
	}
	return bs
}

// sweepBias sets *dst to the bias-repaired points of every pair on checked
// batches, fitted on r.Fit or on the batches themselves.
func (e *Evaluator) sweepBias(dst *[]Point, batches [][]float32, sets []ScoreSet, ratios []float64, r Repair) error {
	rs := e.repairState()
	var tokens int
	if r.Fit != nil {
		if r.Fit.tokens == 0 {
			return fmt.Errorf("repair: the fit set has no batches: %w", ErrEmpty)
		}
		rs.fitMean, tokens = r.Fit.meanInto(rs.fitMean), r.Fit.tokens
	} else {
		var err error
		if rs.fitMean, tokens, err = e.batchesMean(rs.fitMean, batches); err != nil {
			return err
		}
	}
	bs := e.biasSiblingFor(rs.fitMean)
	if err := bs.e.sweepTo(dst, batches, sets, ratios, bs.mean, &bs.rows); err != nil {
		return err
	}
	for i := range *dst {
		m := &(*dst)[i].Metrics
		m.setRepair(r, r.Fit)
		m.FitTokens = tokens
	}
	return nil
}

// evaluateBias sets m to the bias-repaired metrics of one pair on checked
// arguments, as sweepBias evaluates it in a sweep.
func (e *Evaluator) evaluateBias(m *Metrics, batches [][]float32, scores []float32, ratio float64, r Repair) error {
	bs := &e.repairState().bias
	bs.sets[0], bs.ratios[0] = ScoreSet{Name: "pair", Scores: scores}, ratio
	if err := e.sweepBias(&bs.points, batches, bs.sets[:], bs.ratios[:], r); err != nil {
		return err
	}
	per := append(m.PerBatch[:0], bs.points[0].PerBatch...)
	*m = bs.points[0].Metrics
	m.PerBatch = per
	return nil
}

// batchesMean sets dst (grown as needed) to the mean of the batches' rows,
// in float64, and returns it with the rows counted; a non-finite
// activation is refused as an evaluation refuses it.
func (e *Evaluator) batchesMean(dst []float64, batches [][]float32) ([]float64, int, error) {
	dst = growFloat64(dst, e.in)
	clear(dst)
	tokens := 0
	for b, x := range batches {
		if _, ok := firstNonFinite(x); ok {
			return nil, 0, nonFiniteBatch(b, x, e.in, Direct)
		}
		for t := 0; t < len(x); t += e.in {
			for c, v := range x[t : t+e.in] {
				dst[c] += float64(v)
			}
		}
		tokens += len(x) / e.in
	}
	for c := range dst {
		dst[c] /= float64(tokens)
	}
	return dst, tokens, nil
}
