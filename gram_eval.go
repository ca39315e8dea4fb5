package chanprune

// layerGram is what the Gram path keeps of the layer.
type layerGram struct {
	h      []float32 // H = WᵀW, in×in, both triangles
	diag   []float32 // H_ii, for the contract kernel
	u      []float64 // u = Wᵀb
	bb     float64   // ‖b‖²
	rounds float64   // gramRounds(out): the roundings in an entry of H
}

// gramBatch is the Gram path's scratch for one batch.
type gramBatch struct {
	builder *gramBuilder
	g       []float32    // G = xᵀx, in×in, both triangles: a sweep's, made when first stored
	diag    []float32    // G_ii, for the contract kernel
	rounds  float64      // gramRounds(tokens): the roundings in an entry of G
	colSum  []float64    // s = Σ_t x_t
	mask    []float32    // 1 for a pruned channel, else 0
	part    []sums       // per row: the contract kernel's sums (scratch: a kernel's *sums escapes)
	c       []float64    // per channel j: Σ_i H_ij·G_ij
	w       []float64    // per channel j: Σ_i w_ij, the variance proxies of row j (gram_certify.go)
	sums    []sums       // per batch of a call
	one     [1][]float32 // a batch redone on the direct path
	sink    stripSink    // contractStrip
	store   stripSink    // storeStrip
}

// buildLayerGram forms H, u and ‖b‖² from the packed weight, unpacking
// gramRows of its rows at a time: H = Σ over those blocks of WᵀW, each
// block added in float32 (layerGram.rounds counts the adds), so that no
// copy of the weight and no float64 in×in accumulator is made.
func (e *Evaluator) buildLayerGram() {
	in, out, nr := e.in, e.out, e.kern.nr
	e.newGramBatch()
	lg := &layerGram{
		h:      make([]float32, in*in),
		diag:   make([]float32, in),
		u:      make([]float64, in),
		rounds: gramRounds(out) + float64(panels(out, gramRows)),
	}
	block := make([]float32, min(out, gramRows)*in)
	for o0 := 0; o0 < out; o0 += gramRows {
		rows := block[:(min(out, o0+gramRows)-o0)*in]
		for r := range len(rows) / in {
			o, w := o0+r, rows[r*in:(r+1)*in]
			unpackWeightRow(w, e.weight, o, in, nr)
			b := float64(e.bias[o])
			lg.bb += b * b
			for c, v := range w {
				lg.u[c] += float64(v) * b
			}
		}
		e.gram.builder.add(lg.h, rows, e.workerCount())
	}
	mirror(lg.h, in)
	for i := range in {
		lg.diag[i] = lg.h[i*in+i]
	}
	e.layerGram = lg
}

// newGramBatch sets e.gram to fresh scratch for the Gram path.
func (e *Evaluator) newGramBatch() {
	in := e.in
	e.gram = &gramBatch{
		builder: newGramBuilder(e.kern, in),
		diag:    make([]float32, in),
		colSum:  make([]float64, in),
		mask:    make([]float32, in),
		part:    make([]sums, in),
		c:       make([]float64, in),
		w:       make([]float64, in),
	}
	e.gram.sink, e.gram.store = e.contractStrip, e.storeStrip
}

// gramInputs forms G and s = Σ_t x_t for batch x (gramBuilder.fuse), and
// returns u·s and T·‖b‖², the bias terms of ‖y‖². Unless full, it stores
// no G: its strips go to contractStrip as they are formed, which adds them
// to gb.part. A full G is stored in both triangles (storeStrip).
func (e *Evaluator) gramInputs(x []float32, full bool) (us, tb float64) {
	if e.layerGram == nil {
		e.buildLayerGram()
	}
	gb, in := e.gram, e.in
	gb.rounds = gramRounds(len(x) / in)
	sink := gb.sink
	if full {
		if gb.g == nil {
			gb.g = make([]float32, in*in)
		}
		sink = gb.store
	}
	gb.builder.fuse(gb.colSum, gb.diag, x, e.workerCount(), sink)
	for c, u := range e.layerGram.u {
		us += u * gb.colSum[c]
	}
	return us, float64(len(x)/in) * e.layerGram.bb
}

// storeStrip is the sink (gramBuilder.fuse) of a full G: it stores the
// strip's entries on and right of the diagonal in their rows of gb.g and
// those right of it in their columns too, so that every entry of G is
// written once, by the worker of its strip, without the twice as many
// tiles of forming both triangles or a mirroring pass over G.
func (e *Evaluator) storeStrip(i0, m, c0 int, strip []float32, ld int) {
	g, in := e.gram.g, e.in
	end := min(in, c0+ld)
	for r := range m {
		i := i0 + r
		if start := max(c0, i); start < end {
			copy(g[i*in+start:i*in+end], strip[r*ld+start-c0:])
		}
	}
	for c := max(c0, i0+1); c < end; c++ {
		col := g[c*in+i0 : c*in+min(i0+m, c)] // G[c, i] for i < c
		for r := range col {
			col[r] = strip[r*ld+c-c0]
		}
	}
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
// A batch whose sums are not certified is redone on the direct path, unless
// the Gram path is forced; it records in e.ran the method each batch ran and
// returns how many uncertified batches it kept.
func (e *Evaluator) runGram(batches [][]float32, k int) (uncertified int) {
	if e.layerGram == nil {
		e.buildLayerGram()
	}
	gb := e.gram
	if len(gb.sums) < len(batches) {
		gb.sums = make([]sums, len(batches))
	}
	for b, x := range batches {
		s, v := e.gramBatchSums(x, k)
		e.ran[b] = Gram
		switch {
		case certified(s, v):
		case e.method == Gram:
			uncertified++
		default:
			gb.one[0] = x
			e.run(gb.one[:], e.in-k)
			gb.one[0] = nil
			s = e.batchSums[0]
			e.ran[b] = Direct
		}
		gb.sums[b] = s
	}
	if len(e.batchSums) < len(batches) {
		e.batchSums = make([]sums, len(batches))
	}
	copy(e.batchSums, gb.sums[:len(batches)])
	return uncertified
}

// gramBatchSums returns the sums of batch x, k channels pruned (e.pruned),
// and the variances that bound their error.
func (e *Evaluator) gramBatchSums(x []float32, k int) (sums, gramVariance) {
	if e.layerGram == nil {
		e.buildLayerGram()
	}
	gb := e.gram
	for c, p := range e.pruned {
		gb.mask[c] = 0
		if p {
			gb.mask[c] = 1
		}
	}
	clear(gb.part)
	us, tb := e.gramInputs(x, false)
	return e.contractedSums(us, tb, k)
}

// contractedSums turns the rows' contractions in gb.part into the sums of
// the batch and their variances; us and tb are gramInputs' bias terms.
func (e *Evaluator) contractedSums(us, tb float64, k int) (sums, gramVariance) {
	gb := e.gram
	var hg, hgP, dd float64 // ⟨H,G⟩, ⟨H[:,P],G[:,P]⟩, ⟨H[P,P],G[P,P]⟩
	var v gramVariance
	for i, s := range gb.part {
		// Row i's share, counting each off-diagonal entry for both of its
		// channels: its diagonal entry and Σ_{j>i}.
		hd, gd := float64(e.layerGram.diag[i]), float64(gb.diag[i])
		fg, fh := gb.rounds*gd, e.layerGram.rounds*hd
		a, pp, wa, wp := s[0], s[1], 4*s[2], 4*s[3]
		diag, p := hd*gd, float64(gb.mask[i])
		wDiag := (fg*hd + fh*gd) * hd * gd
		hg += diag + 2*a
		hgP += diag*p + p*a + pp
		dd += diag*p + 2*p*pp
		v.kk += (1 - p) * (wDiag + wa - wp)
		v.kp += (1-p)*wp + p*(wa-wp)
		v.pp += p * (wDiag + wp)
	}
	var usP float64
	for c, u := range e.layerGram.u {
		usP += u * gb.colSum[c] * float64(gb.mask[c])
	}
	return gramSums(hg+2*us+tb, hgP+usP, dd, k == e.in, us, tb), v
}

// contractStrip is the sink (gramBuilder.fuse) of one evaluation: it sets
// gb.part[i], for the strip's rows i, to the contraction (contractFunc) of
// the row of H⊙G right of the diagonal, strip by strip: Σ_{j>i} M_ij, the
// same over j∈P, and Σ_{j>i} w_ij and the same over j∈P, the variance
// proxies (gram_certify.go) of the entries.
func (e *Evaluator) contractStrip(i0, m, c0 int, strip []float32, ld int) {
	gb, lg, in := e.gram, e.layerGram, e.in
	end := min(in, c0+ld)
	for r := range m {
		i := i0 + r
		start := max(c0, i+1)
		if start >= end {
			continue
		}
		fg, fh := gb.rounds*float64(gb.diag[i]), lg.rounds*float64(lg.diag[i])
		e.kern.contractRow(lg.h[i*in+start:i*in+end], strip[r*ld+start-c0:],
			gb.mask[start:end], lg.diag[start:end], gb.diag[start:end], fg, fh, &gb.part[i])
	}
}

func sum4(v [4]float64) float64 { return (v[0] + v[1]) + (v[2] + v[3]) }

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
