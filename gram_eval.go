package chanprune

// layerGram is what the Gram path keeps of the layer.
type layerGram struct {
	h  []float32 // H = WᵀW, in×in, both triangles
	u  []float64 // u = Wᵀb
	bb float64   // ‖b‖²
}

// gramBatch is the Gram path's scratch for one batch.
type gramBatch struct {
	builder  *gramBuilder
	g        []float32    // G = xᵀx, in×in (upper triangle; both for sweeps)
	colSum   []float64    // s = Σ_t x_t
	mask     []float64    // 1 for a pruned channel, else 0
	rows     [][3]float64 // per row of H⊙G: Σ, Σ over y·d, Σ over ‖d‖²
	c        []float64    // per channel j: Σ_i H_ij·G_ij
	contract job          // rows, for one evaluation
	rowSums  job          // rows, for c and M
	mirror   job          // block rows of G
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
	newGramBuilder(e.kern, in).build(lg.h, nil, w, e.workerCount())
	mirror(lg.h, in)
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
		c:       make([]float64, in),
	}
	e.gram.contract.run = e.contractRow
	e.gram.rowSums.run = e.rowSum
	e.gram.mirror.run = func(_, i int) { mirrorBlockRow(e.gram.g, in, i) }
}

// gramInputs forms G (its upper triangle, or all of it if full) and
// s = Σ_t x_t for batch x, and returns u·s and T·‖b‖², the bias terms of ‖y‖².
func (e *Evaluator) gramInputs(x []float32, full bool) (us, tb float64) {
	if e.layerGram == nil {
		e.buildLayerGram()
	}
	gb, in := e.gram, e.in
	tokens := len(x) / in
	switch {
	case full && tokens <= gramRows:
		gb.builder.buildFull(gb.g, gb.colSum, x, e.workerCount())
	case full:
		gb.builder.build(gb.g, gb.colSum, x, e.workerCount())
		gb.mirror.do(panels(in, mirrorBlock), e.workerCount())
	default:
		gb.builder.build(gb.g, gb.colSum, x, e.workerCount())
	}
	for c, u := range e.layerGram.u {
		us += u * gb.colSum[c]
	}
	return us, float64(tokens) * e.layerGram.bb
}

// gramSums turns the contractions into the sums of the metrics: yy = ‖y‖²,
// yd = y·d and dd = ‖d‖², all channels pruned or not.
func gramSums(yy, yd, dd float64, allPruned bool, us, tb float64) sums {
	s := sums{sDD: max(dd, 0), sYY: yy, sYY1: yy - yd, sY1Y1: max(yy-2*yd+dd, 0)}
	if allPruned {
		// y' = b: its products are exact, without the cancellation.
		s[sYY1], s[sY1Y1] = us+tb, tb
	}
	return s
}

// runGram fills e.batchSums on the Gram path, k channels pruned (e.pruned).
func (e *Evaluator) runGram(batches [][]float32, k int) {
	if len(e.batchSums) < len(batches) {
		e.batchSums = make([]sums, len(batches))
	}
	for b, x := range batches {
		us, tb := e.gramInputs(x, false)
		gb := e.gram
		for c, p := range e.pruned {
			gb.mask[c] = 0
			if p {
				gb.mask[c] = 1
			}
		}
		gb.contract.do(e.in, e.workerCount())
		var hg, hgP, dd float64 // ⟨H,G⟩, ⟨H[:,P],G[:,P]⟩, ⟨H[P,P],G[P,P]⟩
		for _, r := range gb.rows {
			hg += r[0]
			hgP += r[1]
			dd += r[2]
		}
		var usP float64
		for c, u := range e.layerGram.u {
			usP += u * gb.colSum[c] * gb.mask[c]
		}
		e.batchSums[b] = gramSums(hg+2*us+tb, hgP+usP, dd, k == e.in, us, tb)
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

// rowSum sets c[j] = Σ_i H_ji·G_ji over the full row j of a mirrored G,
// and overwrites the row of G with M = H⊙G rounded to float32, which the
// sweep then sums by prefixes.
func (e *Evaluator) rowSum(_, j int) {
	in := e.in
	h, g := e.layerGram.h[j*in:(j+1)*in], e.gram.g[j*in:(j+1)*in]
	var acc [4]float64
	i := 0
	for ; i+4 <= in; i += 4 {
		h4, g4 := h[i:i+4:i+4], g[i:i+4:i+4]
		for l := range 4 {
			v := float64(h4[l]) * float64(g4[l])
			acc[l] += v
			g4[l] = float32(v)
		}
	}
	for ; i < in; i++ {
		v := float64(h[i]) * float64(g[i])
		acc[0] += v
		g[i] = float32(v)
	}
	e.gram.c[j] = (acc[0] + acc[1]) + (acc[2] + acc[3])
}

// mirrorBlock is the side of the square blocks in which mirror copies, so
// that both its reads and its writes stay in cache.
const mirrorBlock = 64

// mirror copies the upper triangle of g (in×in) into the lower one.
func mirror(g []float32, in int) {
	for i := range panels(in, mirrorBlock) {
		mirrorBlockRow(g, in, i)
	}
}

// mirrorBlockRow mirrors the upper triangle's rows i·mirrorBlock … onward.
func mirrorBlockRow(g []float32, in, i int) {
	i0 := i * mirrorBlock
	for j0 := i0; j0 < in; j0 += mirrorBlock {
		for r := i0; r < min(i0+mirrorBlock, in); r++ {
			for c := max(j0, r+1); c < min(j0+mirrorBlock, in); c++ {
				g[c*in+r] = g[r*in+c]
			}
		}
	}
}
