package chanprune

import "math"

// The fast route of a repaired evaluation. With xs = x − m the rows centred
// on the fit set's mean and r = xs_P − xs_K·Cᵀ the pruned channels'
// residual after the kept ones' prediction, the difference is
// d = y − y” = r·W_Pᵀ exactly (repair_eval.go), so
//
//	‖d‖² = Σ_t r_t·H_PP·r_tᵀ,  y·d = Σ_t (xs_t·H_{:,P} + β_P)·r_tᵀ
//
// with H = WᵀW, β = u + H·m and u = Wᵀb the Gram path's, and ‖y‖² is the
// seed's own (one Gram contraction per batch, shared by every repaired
// pair). xs·H depends on the batch and the fit set only, so a sweep forms
// it once per batch and every pair reads its columns P; per pair and batch
// there remain the residual's product xs_K·(−C)ᵀ (T·k·p multiply-adds;
// none for bias) and r·H_PP (T·p²): no repaired layer is packed, no H of
// it formed, and the layer's product never runs. The float32 roundings of
// H and of the products bound the error of each sum (certifyRepair); a
// batch not certified is redone by the probe (repairProbe), as the Gram
// path redoes one directly.

// outputNorm is ‖y‖² of one batch and the variance proxy of its error.
type outputNorm struct{ yy, v float64 }

// gramRepairs reports whether a repaired evaluation takes the fast route:
// it needs H, which the Gram path keeps, so not where H is too large or
// Direct is forced; nor, under Auto, for a layer wider than tall, whose
// evaluations plan Direct (its sweeps, unrepaired or bias-repaired, may
// go Gram) and where the fast route's certificate has not been tried.
func (e *Evaluator) gramRepairs() bool {
	switch e.method {
	case Gram:
		return true
	case Direct:
		return false
	}
	return e.in <= e.out && 16*float64(e.in)*float64(e.in) <= maxGramBytes
}

// A repairGram evaluates one repaired pair by the fast route. The
// Evaluator keeps one and sets it to each pair, reusing its memory.
type repairGram struct {
	e        *Evaluator
	p        int
	pruned   []int
	mean     []float32 // m
	beta     []float64 // β_P = (u + H·m)_P: y_t = xs_t·Wᵀ + (W·m + b)
	fitBeta  []float64 // β = u + H·m over every channel, for the mean fitMean
	fitMean  []float64
	cc       float64   // ‖W·m + b‖² as m·H·m + 2u·m + ‖b‖², from the same H
	w, hpp   []float32 // the products' weights, unpacked: −C and H_PP
	kept     []int32
	channels []int32   // 0 … in−1
	resid    *product  // xs ↦ −xs_K·Cᵀ; nil for bias
	residMem *product  // resid's memory, kept across pairs
	quad     *product  // r ↦ r·H_PP
	hprod    *product  // xs ↦ xs·H, while shared
	hpart    *product  // xs ↦ xs·H_{:,P}, otherwise
	hw       []float32 // hpart's weight: the rows P of H
	colsP    []int     // 0 … p−1: the columns P of hpart's output
	// xs·H of each batch, K1 = B·Bᵀ of variances and Σ (x·D½)² of
	// looseVariances: they depend on the batch and the fit set only (a
	// sweep's pairs share them).
	hx, k1 batchCache[float32]
	xx     batchCache[float64]
	// The batches of the group last formed (group): the first, and where
	// each one's rows start; their centred rows, r, the residual's product
	// and r·H_PP, all rows of the group together; xs, r, c and z are the
	// batch just observed's rows of them, and hxRows xs·H's (or xs·H_{:,P}'s).
	first                   int
	starts                  []int
	xsAll, rAll, cAll, zAll []float32
	xs, r, c, z, hxRows     []float32
	parts                   []batchParts    // per batch of the group
	grouped                 [][]float32     // the group's batches, while group runs
	groupJob                job[repairGram] // group's work per batch
	rounds                  float64         // the roundings in an entry of H
	// variances's: √H_cc for every channel and the pruned ones, the
	// scaled rows x·D½ and r·D½_P, their T×T products and the products.
	sqrtH, sqrtHP, bx, qr, k1tmp, k2 []float32
	outerX, outerR                   *product
	k1cur                            []float32 // K1 of the batch variances last saw
	xxCur                            float64   // Σ (x·D½)² of the batch looseVariances last saw
	keptRt                           keptRoute // the route for a batch the sums above cannot certify
}

// share makes the pairs evaluated next on batches batches share what
// depends on the batch alone (batchCache), formed once per batch; unshare
// ends it. The fit set must stay the same.
func (g *repairGram) share(batches int) {
	g.hx.share(batches)
	g.k1.share(batches)
	g.xx.share(batches)
}

func (g *repairGram) unshare() { g.hx.shared, g.k1.shared, g.xx.shared = false, false, false }

// maxShareBytes bounds what a sweep keeps per batch (xs·H, and K1 no
// larger): past it each pair forms its own, as one evaluation does.
const maxShareBytes = 1 << 30

// sharesBatches reports whether a sweep on batches keeps what depends on
// a batch alone within maxShareBytes.
func sharesBatches(batches [][]float32) bool {
	n := 0
	for _, x := range batches {
		n += len(x)
	}
	return 8*float64(n) <= maxShareBytes
}

// A batchCache holds a slice per batch while shared, else one slice for
// the current batch.
type batchCache[T float32 | float64] struct {
	slots  [][]T
	formed []bool
	shared bool
}

func (c *batchCache[T]) share(batches int) {
	c.shared = true
	for len(c.slots) < batches {
		c.slots = append(c.slots, nil)
	}
	c.formed = append(c.formed[:0], make([]bool, batches)...)
}

// slot returns batch b's slice, n long, and whether the caller must form
// it (always unless shared and formed before).
func (c *batchCache[T]) slot(b, n int) ([]T, bool) {
	i := 0
	if c.shared {
		i = b
	} else if len(c.slots) == 0 {
		c.slots = append(c.slots, nil)
	}
	s := c.slots[i]
	if cap(s) < n {
		s = make([]T, n)
	}
	s = s[:n]
	c.slots[i] = s
	if !c.shared {
		return s, true
	}
	fresh := !c.formed[b]
	c.formed[b] = true
	return s, fresh
}

// set prepares g for the pair repaired as rf (bias or lstsq).
func (g *repairGram) set(e *Evaluator, rf *repairFit) {
	if e.layerGram == nil {
		e.buildLayerGram()
	}
	lg, in := e.layerGram, e.in
	k, p := len(rf.kept), len(rf.pruned)
	g.e, g.p, g.rounds, g.pruned = e, p, lg.rounds, rf.pruned
	if len(g.channels) != in {
		g.channels = allChannels(make([]int32, in))
	}
	if !g.hx.shared && p > 0 {
		g.hw = grow(g.hw, p*in)
		g.colsP = g.colsP[:0]
		for j, c := range rf.pruned {
			copy(g.hw[j*in:(j+1)*in], lg.h[c*in:(c+1)*in])
			g.colsP = append(g.colsP, j)
		}
		g.hpart = repack(g.hpart, e.kern, g.hw, g.channels, in, p)
	}
	g.mean = grow(g.mean, in)
	for c, v := range rf.mean {
		g.mean[c] = float32(v)
	}
	g.setMean(rf.mean)
	g.beta = growFloat64(g.beta, p)
	for j, c := range rf.pruned {
		g.beta[j] = g.fitBeta[c]
	}
	g.kept = g.kept[:0]
	for _, c := range rf.kept {
		g.kept = append(g.kept, int32(c))
	}
	g.resid, g.keptRt.ready = nil, false
	if rf.ct != nil && k > 0 && p > 0 {
		g.w = grow(g.w, p*k)
		for i, v := range rf.ct[:p*k] {
			g.w[i] = float32(-v)
		}
		g.residMem = repack(g.residMem, e.kern, g.w, g.kept, in, p)
		g.resid = g.residMem
	}
	g.hpp = grow(g.hpp, p*p)
	for i, ci := range rf.pruned {
		for j, cj := range rf.pruned {
			g.hpp[i*p+j] = lg.h[ci*in+cj]
		}
	}
	g.quad = repack(g.quad, e.kern, g.hpp, g.channels[:p], p, p)
	g.sqrtH, g.sqrtHP = grow(g.sqrtH, in), grow(g.sqrtHP, p)
	for c, h := range lg.diag {
		g.sqrtH[c] = float32(math.Sqrt(h))
	}
	for j, c := range rf.pruned {
		g.sqrtHP[j] = g.sqrtH[c]
	}
}

// repack returns a product of weight ([out, len(channels)], row-major) for
// kern as newProduct does, reusing p's memory (and its calls' scratch)
// where it is large enough.
func repack(p *product, kern *kernel, weight []float32, channels []int32, in, out int) *product {
	np := panels(out, kern.nr) * kern.nr
	size := np * len(channels)
	if p == nil || p.kern != kern || cap(p.weight) < size || cap(p.bias) < np || cap(p.identity) < len(channels) {
		q := newProduct(kern, weight, nil, channels, in, out)
		if p != nil && p.kern == kern { // keep the idle calls' scratch (packed rows of a whole group)
			q.free, p.free = p.free, nil
			for _, call := range q.free {
				call.p = q
			}
		}
		return q
	}
	p.channels, p.in, p.out = channels, in, out
	p.identity = allChannels(p.identity[:len(channels)])
	p.weight, p.bias = p.weight[:size], p.bias[:np]
	packWeight(p.weight, weight, len(channels), out, kern.nr)
	packBias(p.bias, nil)
	return p
}

// observe returns the sums of batch b (x), ‖y‖² given, and whether they
// are certified; b must be in the group last formed (group).
func (g *repairGram) observe(x []float32, b int, norm outputNorm) (sums, bool) {
	in, p := g.e.in, g.p
	tokens := len(x) / in
	t0 := g.starts[b-g.first]
	g.xs = g.xsAll[t0*in : (t0+tokens)*in]
	g.r, g.z = g.rAll[t0*p:(t0+tokens)*p], g.zAll[t0*p:(t0+tokens)*p]
	if g.resid != nil {
		g.c = g.cAll[t0*p : (t0+tokens)*p]
	}
	pt := g.parts[b-g.first]
	s := gramSums(norm.yy, pt.yd, pt.dd, false, 0, 0)
	if vyd, vdd := g.looseVariances(b); certifyRepair(s, norm.v, vyd, vdd) {
		return s, true
	}
	vyd, vdd := g.variances(x, b, tokens)
	if certifyRepair(s, norm.v, vyd, vdd) {
		return s, true
	}
	if ks, ok := g.keptSums(x, tokens, norm, s[sDD], vdd); ok {
		return ks, true
	}
	return s, false
}

// looseVariances bounds what variances returns without its products, by
// Cauchy–Schwarz: A_ij² ≤ G_ii·M_jj with G = XᵀX and M = RᵀR, so the
// proxy of y·d is at most n·(Σ_i H_ii·G_ii)·(Σ_j H_jj·M_jj) and that of
// ‖d‖² n·(Σ_j H_jj·M_jj)², both sums formed by group (batchParts). Where
// it certifies batch b (small ratios), the products are not needed.
func (g *repairGram) looseVariances(b int) (vyd, vdd float64) {
	pt := g.parts[b-g.first]
	g.xxCur = pt.xx
	n := symmetricTwice * g.rounds
	return n * pt.xx * pt.rr, n * pt.rr * pt.rr
}

// variances returns the variance proxies of y·d and ‖d‖² for the batch
// just observed. Their error is that of H's entries, each carrying up to
// n = g.rounds roundings of coefficients at most sqrt(H_ii·H_jj)
// (gram_certify.go): Σ_ij n·H_ii·H_jj·A_ij² for y·d = ⟨H_{:,P}, A⟩,
// A = Σ_t x_tᵀr_t, and likewise for ‖d‖² = ⟨H_PP, RᵀR⟩. With B = x·D½ and
// Q = r·D½_P (D the diagonal of H), Σ_ij H_ii·H_jj·A_ij² = ‖BᵀQ‖² =
// ⟨B·Bᵀ, Q·Qᵀ⟩ and that of RᵀR is ‖Q·Qᵀ‖²: two T×T products. H_ij and
// H_ji are one rounded value, so both proxies count twice (symmetricTwice:
// for y·d its pairs within P carry A_ij + A_ji). The products' own float32
// sums are not counted, as the direct path's are not.
func (g *repairGram) variances(x []float32, b, tokens int) (vyd, vdd float64) {
	in, p, workers := g.e.in, g.p, g.e.workerCount()
	if p == 0 {
		return 0, 0
	}
	// K1 is kept per batch only where no larger than the batch itself.
	var k1 []float32
	fresh := true
	if tokens <= in {
		k1, fresh = g.k1.slot(b, tokens*tokens)
	} else {
		g.k1tmp = grow(g.k1tmp, tokens*tokens)
		k1 = g.k1tmp
	}
	g.k1cur = k1
	if fresh {
		g.bx = grow(g.bx, tokens*in)
		for t := range tokens {
			for c, v := range x[t*in : (t+1)*in] {
				g.bx[t*in+c] = v * g.sqrtH[c]
			}
		}
		g.outerX = repack(g.outerX, g.e.kern, g.bx, g.channels, in, tokens)
		g.outerX.run(k1, g.bx, workers)
	}
	g.qr = grow(g.qr, tokens*p)
	for t := range tokens {
		for j, v := range g.r[t*p : (t+1)*p] {
			g.qr[t*p+j] = v * g.sqrtHP[j]
		}
	}
	g.k2 = grow(g.k2, tokens*tokens)
	g.outerR = repack(g.outerR, g.e.kern, g.qr, g.channels[:p], p, tokens)
	g.outerR.run(g.k2, g.qr, workers)
	for i, v := range g.k2 {
		vyd += float64(k1[i]) * float64(v)
		vdd += float64(v) * float64(v)
	}
	n := symmetricTwice * g.rounds
	return n * max(vyd, 0), n * vdd
}

// certifyRepair reports whether the sums s of one repaired batch are within
// the conformance tolerances, given the variance proxies of ‖y‖², y·d and
// ‖d‖², as certified does for the seed's parts; their errors, all from
// H's, may be correlated, so their bounds add.
func certifyRepair(s sums, vyy, vyd, vdd float64) bool {
	scale := certLambda * unitRoundoff
	ey, ed, edd := scale*math.Sqrt(vyy), scale*math.Sqrt(vyd), scale*math.Sqrt(vdd)
	// y·y” = ‖y‖² − y·d and ‖y”‖² = ‖y‖² − 2y·d + ‖d‖²: each error moves
	// (‖y‖², y·y”, ‖y”‖²) along its direction.
	return certifyBounds(s, ey, ey+2*ed+edd, edd, [3]errorPart{{ey, 1, 1, 1}, {ed, 0, -1, -2}, {edd, 0, 0, 1}})
}

// An errorPart is the bound of one error and how it moves ‖y‖², y·y” and
// ‖y”‖² per unit.
type errorPart struct{ bound, yy, yy1, y1y1 float64 }

// certifyBounds reports whether sums s are within the conformance
// tolerances given the bounds ey, e11 and edd of the errors of ‖y‖², ‖y”‖²
// and ‖d‖², and the parts of the errors, whose bounds add.
func certifyBounds(s sums, ey, e11, edd float64, parts [3]errorPart) bool {
	yy, yy1, y1y1, dd := s[sYY], s[sYY1], s[sY1Y1], s[sDD]
	if edd > 2*certRMSE*dd {
		return false
	}
	const floor = 1e-16
	if !(ey < yy/2 && yy > floor && e11 < y1y1/2 && y1y1 > floor) {
		return false
	}
	norm := math.Sqrt(yy * y1y1)
	cos := yy1 / norm
	var g float64
	for _, p := range parts {
		g += math.Abs(p.yy1/norm-cos*(p.yy/(2*yy)+p.y1y1/(2*y1y1))) * p.bound
	}
	return g <= certCos
}

// grow returns s resized to n, reallocated only when too small.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// growFloat64 is grow for float64.
func growFloat64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}
