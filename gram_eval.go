package chanprune

// layerGram is what the Gram path keeps of the layer.
type layerGram struct {
	h      []float32 // H = WᵀW, in×in, both triangles
	diag   []float64 // H_ii (float32 values), for the Gram kernels
	u      []float64 // u = Wᵀb
	bb     float64   // ‖b‖²
	rounds float64   // gramRounds(out): the roundings in an entry of H
}

// gramScratch is one worker's scratch for the contraction of a batch's G
// with H as G is formed (batchSums). gramBatch holds the first; batches
// contracted side by side (runGram) take one each.
type gramScratch struct {
	e       *Evaluator
	builder *gramBuilder
	diag    []float64 // G_ii (float32 values), for the Gram kernels
	rounds  float64   // gramRounds(tokens): the roundings in an entry of G
	colSum  []float64 // s = Σ_t x_t
	part    []sums    // per row: the contract kernel's sums (scratch: a kernel's *sums escapes)
	mask    []float64 // 1 for a pruned channel, else 0
	sink    stripSink // contractStrip
}

func newGramScratch(e *Evaluator) *gramScratch {
	s := &gramScratch{
		e:       e,
		builder: newGramBuilder(e.kern, e.in),
		diag:    make([]float64, e.in),
		colSum:  make([]float64, e.in),
		part:    make([]sums, e.in),
		mask:    make([]float64, e.in),
	}
	s.sink = s.contractStrip
	return s
}

// gramBatch is the Gram path's scratch for the batches of a call.
type gramBatch struct {
	*gramScratch                // the first worker's; a stream's and the repair's
	side         []*gramScratch // the other workers' of runGram's batches side by side, with its mask
	sums         []sums         // per batch of a call
	vars         []gramVariance // per batch of a call: the variances of its sums
	one          [1][]float32   // a batch redone on the direct path
	each         job[gramBatch] // runGram's batches side by side
	call         struct {
		batches [][]float32
		k       int
	}
}

// newGramBatch sets e.gram to fresh scratch for the Gram path.
func (e *Evaluator) newGramBatch() {
	e.gram = &gramBatch{gramScratch: newGramScratch(e)}
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
		diag:   make([]float64, in),
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
		lg.diag[i] = float64(lg.h[i*in+i])
	}
	e.layerGram = lg
}

// form forms G and s = Σ_t x_t for batch x (gramBuilder.fuse) on the
// given number of workers, handing G's strips to sink, and returns u·s and
// T·‖b‖², the bias terms of ‖y‖².
func (s *gramScratch) form(x []float32, workers int, bands []int, sink stripSink) (us, tb float64) {
	lg := s.e.layerGram
	s.rounds = gramRounds(len(x) / s.e.in)
	s.builder.fuse(s.colSum, s.diag, x, workers, bands, sink)
	for c, u := range lg.u {
		us += u * s.colSum[c]
	}
	return us, float64(len(x)/s.e.in) * lg.bb
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
	e.setGramMask()
	gb := e.gram
	if len(gb.sums) < len(batches) {
		gb.sums = make([]sums, len(batches))
		gb.vars = make([]gramVariance, len(batches))
	}
	workers := e.workerCount()
	side := gb.sideBySide(batches, workers)
	gb.call.batches, gb.call.k = batches, k
	gb.each.do(side, workers, (*gramBatch).sideBatch, gb)
	gb.call.batches = nil
	for b := side; b < len(batches); b++ {
		gb.sums[b], gb.vars[b] = gb.batchSums(batches[b], k, workers)
	}
	for b, x := range batches {
		s := gb.sums[b]
		e.ran[b] = Gram
		switch {
		case certified(s, gb.vars[b]):
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

// setGramMask sets gb.mask to the pruned channels (e.pruned), building H
// first if needed.
func (e *Evaluator) setGramMask() {
	if e.layerGram == nil {
		e.buildLayerGram()
	}
	for c, p := range e.pruned {
		e.gram.mask[c] = 0
		if p {
			e.gram.mask[c] = 1
		}
	}
}

// batchSums returns the sums of batch x, k channels pruned (s.mask), and
// the variances that bound their error, G formed on workers workers and
// contracted strip by strip, never stored.
func (s *gramScratch) batchSums(x []float32, k, workers int) (sums, gramVariance) {
	clear(s.part)
	us, tb := s.form(x, workers, nil, s.sink)
	return s.contractedSums(us, tb, k)
}

// contractedSums turns the rows' contractions in gs.part into the sums of
// the batch and their variances; us and tb are form's bias terms.
func (gs *gramScratch) contractedSums(us, tb float64, k int) (sums, gramVariance) {
	e, mask := gs.e, gs.mask
	var hg, hgP, dd float64 // ⟨H,G⟩, ⟨H[:,P],G[:,P]⟩, ⟨H[P,P],G[P,P]⟩
	var v gramVariance
	for i, s := range gs.part {
		// Row i's share, counting each off-diagonal entry for both of its
		// channels: its diagonal entry and Σ_{j>i}.
		hd, gd := e.layerGram.diag[i], gs.diag[i]
		fg, fh := gs.rounds*gd, e.layerGram.rounds*hd
		a, pp, wa, wp := s[0], s[1], 4*s[2], 4*s[3]
		diag, p := hd*gd, mask[i]
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
		usP += u * gs.colSum[c] * mask[c]
	}
	return gramSums(hg+2*us+tb, hgP+usP, dd, k == e.in, us, tb), v
}

// contractStrip is the sink (gramBuilder.fuse) of one evaluation: it sets
// gs.part[i], for the strip's rows i, to the contraction (contractFunc) of
// the row of H⊙G right of the diagonal, strip by strip: Σ_{j>i} M_ij, the
// same over j∈P, and Σ_{j>i} w_ij and the same over j∈P, the variance
// proxies (gram_certify.go) of the entries.
func (gs *gramScratch) contractStrip(i0, m, c0 int, strip []float32, ld int) {
	gs.contractRows(i0, m, c0, min(gs.e.in, c0+ld), strip, ld)
}

// contractRows is contractStrip for the strip's columns c0 … end-1, its
// rows ld floats apart.
func (gs *gramScratch) contractRows(i0, m, c0, end int, strip []float32, ld int) {
	e := gs.e
	lg, in, mask := e.layerGram, e.in, gs.mask
	for r := range m {
		i := i0 + r
		start := max(c0, i+1)
		if start >= end {
			continue
		}
		fg, fh := gs.rounds*gs.diag[i], lg.rounds*lg.diag[i]
		e.kern.contract(lg.h[i*in+start:i*in+end], strip[r*ld+start-c0:],
			mask[start:end], lg.diag[start:end], gs.diag[start:end], fg, fh, &gs.part[i])
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
