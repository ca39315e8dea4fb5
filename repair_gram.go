package chanprune

import "math"

// The fast route of a repaired evaluation. With xs = x − m the rows centred
// on the fit set's mean and E the in×p map xs ↦ r = xs_P − xs_K·C (the
// pruned channels' residual after the kept ones' prediction), the
// difference is d = y − y” = r·W_Pᵀ exactly (repair_eval.go), so
//
//	‖d‖² = Σ_t r_t·H_PP·r_tᵀ,  y·d = Σ_t (x_t·H_{:,P} + u_P)·r_tᵀ
//
// with H = WᵀW and u = Wᵀb the Gram path's, and ‖y‖² is the seed's own
// (one Gram contraction per batch, shared by every repaired pair). Per
// batch that is one product xs·[E | H_{:,P}] (T·in·2p multiply-adds) and
// one r·H_PP (T·p²): no repaired layer is packed, no H of it formed, and
// the layer's product never runs. The float32 roundings of H and of the
// two products bound the error of each sum (certifyRepair); a batch not
// certified is redone by the probe (repairProbe), as the Gram path redoes
// one directly.

// outputNorm is ‖y‖² of one batch and the variance proxy of its error.
type outputNorm struct{ yy, v float64 }

// gramRepairs reports whether a repaired evaluation takes the fast route:
// it needs H, which the Gram path keeps, so not where that path is never
// planned (a layer wider than tall or too large for H) or Direct is forced.
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
	e         *Evaluator
	p         int
	mean      []float32 // m
	beta      []float64 // (u + H·m)_P: y_t = xs_t·Wᵀ + (W·m + b)
	hDiag     []float64 // H_jj for the pruned channels j
	w, hpp    []float32 // the products' weights, unpacked
	channels  []int32   // 0 … in−1
	resid     *product  // xs ↦ [r | xs·H_{:,P}], 2p outputs
	quad      *product  // r ↦ r·H_PP: the first p of the 2p outputs above
	xs, c, z  []float32 // scratch: centred rows, [r | xs·H_{:,P}], r·H_PP
	rounds    float64   // the roundings in an entry of H
	nResid    float64   // the adds of a sum of the first product
	colSquare []float64 // per channel, Σ_t x_tc² of the batch
}

// set prepares g for the pair repaired as rf (bias or lstsq).
func (g *repairGram) set(e *Evaluator, rf *repairFit) {
	if e.layerGram == nil {
		e.buildLayerGram()
	}
	lg, in := e.layerGram, e.in
	k, p := len(rf.kept), len(rf.pruned)
	g.e, g.p, g.rounds, g.nResid = e, p, lg.rounds, float64(in)
	g.mean = grow(g.mean, in)
	for c, v := range rf.mean {
		g.mean[c] = float32(v)
	}
	// The first product's weight, [2p, in]: row j is column j of E, row
	// p+j column P_j of H (a row of it: H is symmetric).
	g.w = grow(g.w, 2*p*in)
	clear(g.w[:p*in])
	g.beta, g.hDiag = growFloat64(g.beta, p), growFloat64(g.hDiag, p)
	for j, c := range rf.pruned {
		row := g.w[j*in : (j+1)*in]
		row[c] = 1
		if rf.ct != nil {
			for a, kc := range rf.kept {
				row[kc] = float32(-rf.ct[j*k+a])
			}
		}
		h := lg.h[c*in : (c+1)*in]
		copy(g.w[(p+j)*in:(p+j+1)*in], h)
		g.beta[j], g.hDiag[j] = lg.u[c], float64(lg.diag[c])
		for i, v := range h {
			g.beta[j] += float64(v) * rf.mean[i]
		}
	}
	if len(g.channels) != in {
		g.channels = allChannels(make([]int32, in))
	}
	g.resid = repack(g.resid, e.kern, g.w, g.channels, in, 2*p)
	g.hpp = grow(g.hpp, p*p)
	for i, ci := range rf.pruned {
		for j, cj := range rf.pruned {
			g.hpp[i*p+j] = lg.h[ci*in+cj]
		}
	}
	g.quad = repack(g.quad, e.kern, g.hpp, g.channels[:p], 2*p, p)
	g.colSquare = growFloat64(g.colSquare, in)
}

// repack returns a product of weight ([out, len(channels)], row-major) for
// kern as newProduct does, reusing p's memory (and its calls' scratch)
// where it is large enough.
func repack(p *product, kern *kernel, weight []float32, channels []int32, in, out int) *product {
	np := panels(out, kern.nr) * kern.nr
	size := np * len(channels)
	if p == nil || p.kern != kern || cap(p.weight) < size || cap(p.bias) < np || cap(p.identity) < len(channels) {
		return newProduct(kern, weight, nil, channels, in, out)
	}
	p.channels, p.in, p.out = channels, in, out
	p.identity = allChannels(p.identity[:len(channels)])
	p.weight, p.bias = p.weight[:size], p.bias[:np]
	packWeight(p.weight, weight, len(channels), out, kern.nr)
	packBias(p.bias, nil)
	return p
}

// observe returns the sums of batch x, ‖y‖² given, and whether they are
// certified.
func (g *repairGram) observe(x []float32, norm outputNorm) (sums, bool) {
	in, p, workers := g.e.in, g.p, g.e.workerCount()
	tokens := len(x) / in
	g.xs = shiftRows(g.xs, x, g.mean)
	g.c = grow(g.c, tokens*2*p)
	g.z = grow(g.z, tokens*p)
	if p > 0 {
		g.resid.run(g.c, g.xs, workers)
		g.quad.run(g.z, g.c, workers)
	}
	var yd, dd, rr float64 // rr = Σ_j H_jj·Σ_t r_tj²
	for t := range tokens {
		r, hx, z := g.c[t*2*p:t*2*p+p], g.c[t*2*p+p:(t+1)*2*p], g.z[t*p:(t+1)*p]
		for j, v := range r {
			rv := float64(v)
			dd += float64(z[j]) * rv
			yd += (float64(hx[j]) + g.beta[j]) * rv
			rr += g.hDiag[j] * rv * rv
		}
	}
	// ‖x‖²_H = Σ_c H_cc·Σ_t x_tc², for the bound below.
	clear(g.colSquare)
	for t := range tokens {
		for c, v := range x[t*in : (t+1)*in] {
			g.colSquare[c] += float64(v) * float64(v)
		}
	}
	var xx float64
	for c, s := range g.colSquare {
		xx += float64(g.e.layerGram.diag[c]) * s
	}
	s := gramSums(norm.yy, yd, dd, false, 0, 0)
	// Each entry of H (and each sum of a product) carries up to n
	// roundings of coefficients bounded by Cauchy–Schwarz as in
	// gram_certify.go: Σ_ij A_ij²·H_ii·H_jj ≤ (Σ_i H_ii·A_ii)² for
	// A = RᵀR, and ≤ (Σ_i H_ii·G_ii)·(Σ_j H_jj·M_jj) for A = XᵀR.
	vdd := (g.rounds + float64(p)) * rr * rr
	vyd := (g.rounds + g.nResid) * xx * rr
	return s, certifyRepair(s, norm.v, vyd, vdd)
}

// certifyRepair reports whether the sums s of one repaired batch are within
// the conformance tolerances, given the variance proxies of ‖y‖², y·d and
// ‖d‖² (their errors independent): as certified does for the seed's parts.
func certifyRepair(s sums, vyy, vyd, vdd float64) bool {
	scale := certLambda * unitRoundoff
	yy, yy1, y1y1, dd := s[sYY], s[sYY1], s[sY1Y1], s[sDD]
	if scale*math.Sqrt(vdd) > 2*certRMSE*dd {
		return false
	}
	ey, ed, edd := scale*math.Sqrt(vyy), scale*math.Sqrt(vyd), scale*math.Sqrt(vdd)
	const floor = 1e-16
	if !(ey < yy/2 && yy > floor && ey+2*ed+edd < y1y1/2 && y1y1 > floor) {
		return false
	}
	norm := math.Sqrt(yy * y1y1)
	cos := yy1 / norm
	slope := func(dyy, dyy1, dy1y1 float64) float64 {
		return dyy1/norm - cos*(dyy/(2*yy)+dy1y1/(2*y1y1))
	}
	gy, gd, gdd := slope(1, 1, 1)*ey, slope(0, -1, -2)*ed, slope(0, 0, 1)*edd
	return math.Sqrt(gy*gy+gd*gd+gdd*gdd) <= certCos
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
