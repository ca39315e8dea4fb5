package chanprune

import (
	"math"
	"slices"
)

// The kept route of a repaired batch. The fast route (repair_gram.go)
// forms y·y” = ‖y‖² − y·d and ‖y”‖² = ‖y‖² − 2y·d + ‖d‖², and where most
// of the output is pruned (y” small beside y) their errors, of the size of
// ‖y‖²'s, fail the certificate. The repaired output is itself a Gram
// quantity: with z the centred rows whose pruned channels are replaced by
// the kept ones' prediction (z_K = xs_K, z_P = xs_K·Cᵀ; 0 for bias),
// y” = z·Wᵀ + c₀ and y = xs·Wᵀ + c₀ for c₀ = W·m + b, so
//
//	y·y” = Σ_t (z_t·H)·xs_t + β·Σ_t (xs_t + z_t) + T·‖c₀‖²
//	‖y”‖² = Σ_t (z_t·H)·z_t + 2β·Σ_t z_t + T·‖c₀‖²
//
// with β = u + H·m. z·H = xs_K·(A·H), A = [I | Cᵀ] the map from xs_K to z,
// is one product of T·k·in multiply-adds per batch with the k×in matrix
// A·H formed once per pair (k·p·in), against the probe's T·in·out and a
// packed layer: the route for a batch the fast route cannot certify, tried
// before the probe. ‖c₀‖² is formed from the same H as m·H·m + 2u·m + ‖b‖²,
// so that each sum's error from H's roundings is ⟨ΔH, Σ_t x_tᵀ·ẑ_t⟩ or
// ⟨ΔH, Σ_t ẑ_tᵀ·ẑ_t⟩ with ẑ = z + m the repaired layer's input (x the
// raw rows): its variance proxy is that of repairGram.variances with r
// replaced by ẑ.

// keptRoute is a repairGram's scratch for the kept route.
type keptRoute struct {
	ready    bool      // zh is formed for the current pair
	gt       []float32 // (A·H)ᵀ, in×k
	cT       []float32 // C, k×p: the shift product's weight
	pruned   []int32
	shift    *product // rows of H ↦ their columns P times Cᵀ
	zh       *product // xs ↦ z·H, from the kept channels
	z, q, qz []float32
	k3, l    []float32 // K3 = (ẑ·D½)·(ẑ·D½)ᵀ and L = (x·D½)·(ẑ·D½)ᵀ
	outer    *product
}

// setMean sets β = u + H·m and ‖c₀‖² for the fit set's mean m, unless
// already set for it: a sweep's pairs share them.
func (g *repairGram) setMean(mean []float64) {
	if slices.Equal(g.fitMean, mean) && len(g.fitBeta) == len(mean) {
		return
	}
	lg, in := g.e.layerGram, g.e.in
	g.fitMean = append(g.fitMean[:0], mean...)
	g.fitBeta = growFloat64(g.fitBeta, in)
	g.cc = lg.bb
	for c := range in {
		g.fitBeta[c] = lg.u[c]
		for i, v := range lg.h[c*in : (c+1)*in] {
			g.fitBeta[c] += float64(v) * mean[i]
		}
		g.cc += mean[c] * (g.fitBeta[c] + lg.u[c]) // m·H·m + 2u·m
	}
}

// formZH forms the kept route's product for the current pair.
func (g *repairGram) formZH() {
	kr, lg, kern := &g.keptRt, g.e.layerGram, g.e.kern
	in, k, p, workers := g.e.in, len(g.kept), g.p, g.e.workerCount()
	kr.gt = grow(kr.gt, in*k)
	if g.resid != nil {
		kr.cT = grow(kr.cT, k*p)
		for j := range p {
			for a := range k {
				kr.cT[a*p+j] = -g.w[j*k+a]
			}
		}
		kr.pruned = kr.pruned[:0]
		for _, c := range g.pruned {
			kr.pruned = append(kr.pruned, int32(c))
		}
		kr.shift = repack(kr.shift, kern, kr.cT, kr.pruned, in, k)
		kr.shift.run(kr.gt, lg.h, workers) // (H_{:,P}·Cᵀ)ᵀ… row o: Σ_j H_{o,P_j}·C_{a,j}
	} else {
		clear(kr.gt)
	}
	for o := range in {
		row := kr.gt[o*k : (o+1)*k]
		for a, c := range g.kept {
			row[a] += lg.h[o*in+int(c)]
		}
	}
	kr.zh = repack(kr.zh, kern, kr.gt, g.kept, in, in)
	kr.ready = true
}

// keptSums returns the sums of the batch just observed (x, centred in
// g.xs, its residual's product in g.c) by the kept route, ‖y‖² given and
// ‖d‖² (dd, its variance proxy vdd) from the fast route, and whether they
// are certified.
func (g *repairGram) keptSums(x []float32, tokens int, norm outputNorm, dd, vdd float64) (sums, bool) {
	in, p, k, workers := g.e.in, g.p, len(g.kept), g.e.workerCount()
	if k == 0 || p == 0 || g.k1cur == nil || len(g.k1cur) != tokens*tokens {
		return sums{}, false
	}
	kr := &g.keptRt
	if !kr.ready {
		g.formZH()
	}
	kr.z, kr.q, kr.qz = grow(kr.z, tokens*in), grow(kr.q, tokens*in), grow(kr.qz, tokens*in)
	copy(kr.z, g.xs)
	for t := range tokens {
		z := kr.z[t*in : (t+1)*in]
		for j, c := range g.pruned {
			z[c] = 0
			if g.resid != nil {
				z[c] = -g.c[t*p+j] // xs_K·Cᵀ
			}
		}
	}
	kr.zh.run(kr.q, g.xs, workers)
	var xq, zq, xb, zb, zz float64
	for t := range tokens {
		xs, z, q, qz := g.xs[t*in:(t+1)*in], kr.z[t*in:(t+1)*in], kr.q[t*in:(t+1)*in], kr.qz[t*in:(t+1)*in]
		for c, v := range q {
			xv, zv, qv := float64(xs[c]), float64(z[c]), float64(v)
			xq += qv * xv
			zq += qv * zv
			xb += g.fitBeta[c] * xv
			zb += g.fitBeta[c] * zv
			hz := (zv + g.fitMean[c]) * float64(g.sqrtH[c]) // ẑ·D½
			qz[c] = float32(hz)
			zz += hz * hz
		}
	}
	tc := float64(tokens) * g.cc
	s := sums{sYY: norm.yy, sYY1: xq + xb + zb + tc, sY1Y1: max(zq+2*zb+tc, 0), sDD: dd}
	scale := certLambda * unitRoundoff
	ey, edd := scale*math.Sqrt(norm.v), scale*math.Sqrt(vdd)
	// Cauchy–Schwarz, as looseVariances; symmetricTwice: H_ij and H_ji
	// are one rounded value, so the error of a symmetric sum counts it twice.
	n := symmetricTwice * g.rounds
	e1, e11 := scale*math.Sqrt(n*g.xxCur*zz), scale*math.Sqrt(n)*zz
	if certifyBounds(s, ey, e11, edd, [3]errorPart{{ey, 1, 0, 0}, {e1, 0, 1, 0}, {e11, 0, 0, 1}}) {
		return s, true
	}
	return s, g.certifyKeptJoint(s, x, tokens, ey, edd)
}

// symmetricTwice bounds the variance of ⟨ΔH, M⟩ for a symmetric M by
// twice Σ_ij v_ij·M_ij²: ΔH_ij = ΔH_ji (H is formed once and mirrored), so
// an off-diagonal pair contributes v_ij·(2M_ij)², twice its two terms.
const symmetricTwice = 2

// certifyKeptJoint certifies the kept route's sums s of the batch x (ẑ·D½
// in g.keptRt.qz) by the variance of the first-order error of the cosine:
// H's roundings ΔH move it by ⟨ΔH, b·XᵀẐ + c·ẐᵀẐ⟩ (b, c its slopes along
// y·y” and ‖y”‖²), whose two terms partly cancel, and ‖y‖² (error ey, of
// its own route) by at most slope·ey. With B = x·D½ and Q = ẑ·D½, the
// proxy Σ_ij H_ii·H_jj·M_ij² of the symmetric part M of that matrix needs
// the T×T products K1 = B·Bᵀ, K3 = Q·Qᵀ and L = B·Qᵀ:
//
//	‖M‖² = b²/2·(⟨K1,K3⟩ + ⟨L,Lᵀ⟩) + 2bc·⟨L,K3⟩ + c²·‖K3‖².
func (g *repairGram) certifyKeptJoint(s sums, x []float32, tokens int, ey, edd float64) bool {
	in, workers, kr := g.e.in, g.e.workerCount(), &g.keptRt
	yy, yy1, y1y1 := s[sYY], s[sYY1], s[sY1Y1]
	if !(yy > 0 && y1y1 > 0) {
		return false
	}
	g.bx = grow(g.bx, tokens*in)
	for t := range tokens {
		for c, v := range x[t*in : (t+1)*in] {
			g.bx[t*in+c] = v * g.sqrtH[c]
		}
	}
	kr.k3, kr.l = grow(kr.k3, tokens*tokens), grow(kr.l, tokens*tokens)
	kr.outer = repack(kr.outer, g.e.kern, kr.qz, g.channels, in, tokens)
	kr.outer.run(kr.k3, kr.qz, workers)
	kr.outer.run(kr.l, g.bx, workers) // L_ts = b_t·q_s
	var k1k3, llt, lk3, k3k3 float64
	for i := range tokens {
		for j := range tokens {
			k3, l := float64(kr.k3[i*tokens+j]), float64(kr.l[i*tokens+j])
			k1k3 += float64(g.k1cur[i*tokens+j]) * k3
			llt += l * float64(kr.l[j*tokens+i])
			lk3 += l * k3
			k3k3 += k3 * k3
		}
	}
	norm := math.Sqrt(yy * y1y1)
	b, c := 1/norm, -yy1/norm/(2*y1y1)
	v := b*b/2*(k1k3+llt) + 2*b*c*lk3 + c*c*k3k3
	scale := certLambda * unitRoundoff
	n := symmetricTwice * g.rounds
	ecos := scale * math.Sqrt(n*max(v, 0))
	e11 := scale * math.Sqrt(n*k3k3)
	// ecos·norm along y·y” moves the cosine by ecos.
	return certifyBounds(s, ey, e11, edd, [3]errorPart{{ey, 1, 0, 0}, {ecos * norm, 0, 1, 0}, {}})
}
