package chanprune

// layerGram is what the Gram path keeps of the layer.
type layerGram struct {
	h  []float32 // H = WᵀW, upper triangle of in×in
	u  []float64 // u = Wᵀb
	bb float64   // ‖b‖²
}

// gramBatch is the Gram path's scratch for one batch.
type gramBatch struct {
	builder *gramBuilder
	g       []float32    // G = xᵀx, upper triangle of in×in
	colSum  []float64    // s = Σ_t x_t
	mask    []float64    // 1 for a pruned channel, else 0
	rows    [][3]float64 // per row of H⊙G: Σ, Σ over y·d, Σ over ‖d‖²
	job     job
}

// buildLayerGram forms H, u and ‖b‖² from the packed weight.
func (e *Evaluator) buildLayerGram() {
	in, out, nr := e.in, e.out, e.kern.nr
	w := make([]float32, out*in)
	for o := range out {
		panel := e.weight[(o/nr)*in*nr:]
		for c := range in {
			w[o*in+c] = panel[c*nr+o%nr]
		}
	}
	lg := &layerGram{h: make([]float32, in*in), u: make([]float64, in)}
	newGramBuilder(e.kern, in).build(lg.h, w, e.workerCount())
	for o := range out {
		b := float64(e.bias[o])
		lg.bb += b * b
		for c, v := range w[o*in : (o+1)*in] {
			lg.u[c] += float64(v) * b
		}
	}
	e.layerGram = lg
	e.gram = &gramBatch{
		builder: newGramBuilder(e.kern, in),
		g:       make([]float32, in*in),
		colSum:  make([]float64, in),
		mask:    make([]float64, in),
		rows:    make([][3]float64, in),
	}
	e.gram.job.run = e.contractRow
}

// runGram fills e.batchSums on the Gram path, k channels pruned (e.pruned).
func (e *Evaluator) runGram(batches [][]float32, k int) {
	if e.layerGram == nil {
		e.buildLayerGram()
	}
	lg, gb, in := e.layerGram, e.gram, e.in
	if len(e.batchSums) < len(batches) {
		e.batchSums = make([]sums, len(batches))
	}
	for c, p := range e.pruned {
		gb.mask[c] = 0
		if p {
			gb.mask[c] = 1
		}
	}
	workers := e.workerCount()
	for b, x := range batches {
		tokens := len(x) / in
		gb.builder.build(gb.g, x, workers)
		clear(gb.colSum)
		for t := range tokens {
			for c, v := range x[t*in : (t+1)*in] {
				gb.colSum[c] += float64(v)
			}
		}
		gb.job.do(in, workers)
		var hg, hgP, dd float64 // ⟨H,G⟩, ⟨H[:,P],G[:,P]⟩, ⟨H[P,P],G[P,P]⟩
		for _, r := range gb.rows {
			hg += r[0]
			hgP += r[1]
			dd += r[2]
		}
		var us, usP float64 // u·s over all channels and over the pruned
		for c, u := range lg.u {
			us += u * gb.colSum[c]
			usP += u * gb.colSum[c] * gb.mask[c]
		}
		tb := float64(tokens) * lg.bb
		yy := hg + 2*us + tb
		yd := hgP + usP
		s := sums{sDD: max(dd, 0), sYY: yy, sYY1: yy - yd, sY1Y1: max(yy-2*yd+dd, 0)}
		if k == in {
			// y' = b: its products are exact, without the cancellation.
			s[sYY1], s[sY1Y1] = us+tb, tb
		}
		e.batchSums[b] = s
	}
}

// contractRow reduces row i of H⊙G (its upper part, counting each
// off-diagonal entry for both of its channels) into gb.rows[i]. Four
// partial sums of each kind hide the latency of the float64 adds.
func (e *Evaluator) contractRow(_, i int) {
	gb, in := e.gram, e.in
	h, g := e.layerGram.h[i*in:(i+1)*in], gb.g[i*in:(i+1)*in]
	mask := gb.mask[:in]
	var all, pruned [4]float64 // Σ_{j>i} M_ij, Σ_{j>i, j∈P} M_ij
	j := i + 1
	for ; j+4 <= in; j += 4 {
		h4, g4, m4 := h[j:j+4:j+4], g[j:j+4:j+4], mask[j:j+4:j+4]
		for l := range 4 {
			v := float64(h4[l]) * float64(g4[l])
			all[l] += v
			pruned[l] += v * m4[l]
		}
	}
	for ; j < in; j++ {
		v := float64(h[j]) * float64(g[j])
		all[0] += v
		pruned[0] += v * mask[j]
	}
	a := (all[0] + all[1]) + (all[2] + all[3])
	pp := (pruned[0] + pruned[1]) + (pruned[2] + pruned[3])
	diag, p := float64(h[i])*float64(g[i]), mask[i]
	gb.rows[i] = [3]float64{
		diag + 2*a,
		diag*p + p*a + pp,
		diag*p + 2*p*pp,
	}
}
