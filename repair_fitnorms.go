package chanprune

import "slices"

// ‖y‖² of the evaluated batches for the fast route, from their rows
// shifted by a vector μ (the fit set's μ₀ when it is formed from them, else
// its mean): with x = x̃ + μ, y = x̃·Wᵀ + b̃ for b̃ = b + W·μ, so
// ‖y‖² = ⟨H, G̃⟩ + 2·(Wᵀb̃)·s̃ + T·‖b̃‖², the bias terms formed in float64
// from the weight itself. Shifted, channels whose mean dwarfs their spread
// keep the digits of G̃ that certify it. Fitting on the evaluated batches,
// each block's G̃ is formed once and serves both the fit (added to its
// float64 Σ xᵀx) and ‖y‖².

// fitWithNorms resets fit (the Evaluator's own) to the batches and returns
// ‖y‖² of each.
func (e *Evaluator) fitWithNorms(fit *Fit, batches [][]float32) ([]outputNorm, error) {
	rs := e.repairState()
	for b, x := range batches {
		if err := fit.checkShape(x); err != nil {
			return nil, &BatchError{b, err}
		}
	}
	if rs.fitSink == nil {
		rs.fitSink = func(i0, m, c0 int, strip []float32, ld int) {
			e.gram.contractStrip(i0, m, c0, strip, ld)
			addStrip(e.kern, rs.fitting.xx, e.in, i0, m, c0, strip, ld)
		}
	}
	fit.reset()
	fit.setShift(batches[0])
	e.shiftedBias(fit.shift)
	rs.fitting, rs.norms = fit, rs.norms[:0]
	defer func() { rs.fitting = nil }()
	// A non-finite activation makes its channel's sum non-finite, so the
	// batches are scanned for one (check) only from the batch whose sums
	// first are; from there on each one is (a finite row whose shift
	// overflows float32 leaves the sums infinite and is no error).
	scan := false
	checked := func(b int, n outputNorm) error {
		if scan = scan || slices.ContainsFunc(fit.sum, notFinite); scan {
			if err := fit.check(batches[b]); err != nil {
				return &BatchError{b, err}
			}
		}
		rs.norms = append(rs.norms, n)
		return nil
	}
	workers := e.workerCount()
	side := fitSideCount(batches, e.in, workers)
	var fs *fitSide
	if side > 0 {
		fs = e.sideState(fit, workers)
	}
	for g0 := 0; g0 < side; g0 += workers {
		fs.formGroup(batches[g0:g0+workers], workers)
		for i, x := range batches[g0 : g0+workers] {
			fit.count(fs.colSums[i], len(x)/e.in)
			if err := checked(g0+i, fs.norms[i]); err != nil {
				return nil, err
			}
		}
	}
	for b := side; b < len(batches); b++ {
		var n outputNorm
		fit.observe(batches[b], func(block []float32) { n.add(e.blockNorm(block, fit.blockSum, rs.fitSink)) })
		if err := checked(b, n); err != nil {
			return nil, err
		}
	}
	return rs.norms, nil
}

func notFinite(v float64) bool { return !isFinite(v) }

// shiftedNorms returns ‖y‖² of each batch, its rows shifted by mean.
func (e *Evaluator) shiftedNorms(batches [][]float32, mean []float64) []outputNorm {
	rs := e.repairState()
	rs.shift = grow(rs.shift, e.in)
	for c, m := range mean {
		rs.shift[c] = float32(m)
	}
	e.shiftedBias(rs.shift)
	if len(rs.colSum) < e.in {
		rs.colSum = make([]float64, e.in)
	}
	rs.norms = rs.norms[:0]
	for _, x := range batches {
		var n outputNorm
		for r0 := 0; r0 < len(x); r0 += gramRows * e.in {
			rs.rows = shiftRows(rs.rows, x[r0:min(len(x), r0+gramRows*e.in)], rs.shift)
			n.add(e.blockNorm(rs.rows, rs.colSum, e.gram.sink))
		}
		rs.norms = append(rs.norms, n)
	}
	return rs.norms
}

// blockNorm returns ‖y‖² of a block of at most gramRows shifted rows,
// contracting its G̃ as the builder forms it and handing its strips to
// sink (which contracts them: contractStrip), colSum set to its column
// sums.
func (e *Evaluator) blockNorm(block []float32, colSum []float64, sink stripSink) outputNorm {
	return e.blockNormOn(e.gram.gramScratch, block, colSum, e.workerCount(), sink)
}

// blockNormOn is blockNorm on the scratch gb and the given workers.
func (e *Evaluator) blockNormOn(gb *gramScratch, block []float32, colSum []float64, workers int, sink stripSink) outputNorm {
	rs := e.repairState()
	tokens := len(block) / e.in
	gb.rounds = gramRounds(tokens)
	clear(gb.part)
	clear(gb.mask)
	gb.builder.fuse(colSum, gb.diag, block, workers, nil, sink)
	var us float64
	for c, u := range rs.uShift {
		us += u * colSum[c]
	}
	s, v := gb.contractedSums(us, float64(tokens)*rs.bbShift, 0)
	return outputNorm{s[sYY], v.kk + v.kp + v.pp}
}

func (n *outputNorm) add(m outputNorm) { n.yy, n.v = n.yy+m.yy, n.v+m.v }

// shiftedBias sets rs.uShift = Wᵀb̃ and rs.bbShift = ‖b̃‖² for
// b̃ = b + W·shift, building H first if needed: b̃ a span of rows of W at a
// time, then Wᵀb̃ a span of columns at a time, on the workers, each entry
// in one goroutine's order, so the sums do not depend on them.
func (e *Evaluator) shiftedBias(shift []float32) {
	if e.layerGram == nil {
		e.buildLayerGram()
	}
	rs := e.repairState()
	rs.uShift, rs.bShift = growFloat64(rs.uShift, e.in), growFloat64(rs.bShift, e.out)
	rs.shifting = shift
	workers := e.workerCount()
	rs.biasJob.do(panels(e.out, biasSpan), workers, (*repairScratch).shiftedRows, rs)
	rs.biasJob.do(panels(e.in, biasSpan), workers, (*repairScratch).weightedColumns, rs)
	rs.shifting = nil
	rs.bbShift = 0
	for _, b := range rs.bShift {
		rs.bbShift += b * b
	}
}

// biasSpan is the rows (shiftedRows) or columns (weightedColumns) of W
// one item of shiftedBias takes.
const biasSpan = 64

// shiftedRows sets b̃_o for the rows o of W in span item.
func (rs *repairScratch) shiftedRows(_, item int) {
	l, in := &rs.layer, rs.layer.In
	for o := item * biasSpan; o < min(l.Out, (item+1)*biasSpan); o++ {
		rs.bShift[o] = float64(l.Bias[o]) + dotWiden(l.Weight[o*in:(o+1)*in], rs.shifting)
	}
}

// weightedColumns sets (Wᵀb̃)_c for the columns c of W in span item.
func (rs *repairScratch) weightedColumns(_, item int) {
	l, in := &rs.layer, rs.layer.In
	c0, c1 := item*biasSpan, min(in, (item+1)*biasSpan)
	u := rs.uShift[c0:c1]
	clear(u)
	for o, b := range rs.bShift {
		for c, v := range l.Weight[o*in+c0 : o*in+c1] {
			u[c] += float64(v) * b
		}
	}
}

// dotWiden is Σ w_c·x_c in float64, in four partial sums (one chain of
// adds would wait on each).
func dotWiden(w, x []float32) float64 {
	var s [4]float64
	x = x[:len(w)]
	c := 0
	for ; c+4 <= len(w); c += 4 {
		s[0] += float64(w[c]) * float64(x[c])
		s[1] += float64(w[c+1]) * float64(x[c+1])
		s[2] += float64(w[c+2]) * float64(x[c+2])
		s[3] += float64(w[c+3]) * float64(x[c+3])
	}
	for ; c < len(w); c++ {
		s[0] += float64(w[c]) * float64(x[c])
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

// addStrip adds the entries of a strip of G (stripSink) on and right of
// the diagonal to acc, in×in row-major.
func addStrip(kern *kernel, acc []float64, in, i0, m, c0 int, strip []float32, ld int) {
	upperRows(in, i0, m, c0, strip, ld, func(i, start int, src []float32) { kern.widenAdd(acc[i*in+start:], src) })
}

// upperRows calls row for each row i of a strip of G (stripSink) with
// entries on or right of the diagonal: src holds them, from column start.
func upperRows(in, i0, m, c0 int, strip []float32, ld int, row func(i, start int, src []float32)) {
	end := min(in, c0+ld)
	for r := range m {
		i := i0 + r
		if start := max(c0, i); start < end {
			row(i, start, strip[r*ld+start-c0:r*ld+end-c0])
		}
	}
}
