package chanprune

import "math"

// Certifying a batch of the Gram path. Its sums are contractions of H⊙G
// whose float32 entries carry rounding errors; where W nearly annihilates
// the activations, ‖y‖² is far smaller than the entries it sums and those
// errors swamp it. Each batch's sums are therefore bounded, and a batch
// whose bound exceeds the conformance tolerances (README, "Semantics and
// accuracy") is not certified.
//
// The bound is probabilistic (Higham and Mary, "A new approach to
// probabilistic rounding error analysis", 2019): each rounding is an
// independent, mean-zero error of at most u = 2⁻²⁴ relative, so the first-
// order error of a sum Σ_k c_k·δ_k exceeds certLambda·u·sqrt(Σ_k c_k²) with
// probability at most 2·exp(−certLambda²/2) (Hoeffding). The worst-case
// bound, γ_n·Σ|H||G|, is in·√n times larger on ordinary layers and would
// certify none of them.
//
// An entry G_ij is a float32 dot product of at most gramRows rows (an add
// and a multiply per row, the last add in float64), then rounded once:
// every rounding's coefficient is at most Σ_t|x_ti||x_tj| ≤ sqrt(G_ii·G_jj)
// (Cauchy–Schwarz), and so at most 2·min(T, gramRows)+1 of them; one more
// covers the float32 rounding of M = H⊙G on the sweep path. Likewise for
// H_ij over the out rows of W, whose blocks are summed in float32: one more
// rounding per block. In a contraction, G_ij's error is scaled by
// H_ij and H_ij's by G_ij, so the entry (i, j) contributes the variance proxy
//
//	w_ij = nG·H_ij²·G_ii·G_jj + nH·G_ij²·H_ii·H_jj
//
// (four times that for an off-diagonal pair, which the symmetric sums count
// twice). The float64 contractions add about in·2⁻⁵³ relative, far below.

// unitRoundoff is 2⁻²⁴, float32's unit roundoff.
const unitRoundoff = 0x1p-24

// certLambda sets the confidence of the bound: 2·exp(−18) ≈ 3e-8.
const certLambda = 6

// The conformance tolerances: rmse relative, cosine absolute.
const (
	certRMSE = 1e-5
	certCos  = 2e-6
)

// gramRounds returns how many roundings bound the error of an entry of G
// (tokens rows) or of H (out rows): see above.
func gramRounds(rows int) float64 { return float64(2*min(rows, gramRows) + 2) }

// gramVariance holds the variance proxies (Σ w over the entries, sqrt of it
// times certLambda·u bounds the error) of the three independent parts of
// ‖y‖²: the kept×kept, kept×pruned (both orders) and pruned×pruned entries
// of H⊙G.
type gramVariance struct{ kk, kp, pp float64 }

// certified reports whether the Gram sums s of one batch are within the
// conformance tolerances of the truth, given the variances of their parts.
// With K the kept and P the pruned channels, ‖y‖² = KK + KP + PP + bias
// terms, y·y' = KK + KP/2 + …, ‖y'‖² = KK + … and ‖d‖² = PP; the bias
// terms are exact in float64 (and with every channel pruned, K is empty).
// Sums that are not finite (an overflowing float32 entry of G or H⊙G, or
// the NaN it gives a sweep's row sums, kernel.go) are not certified: the
// first-order bound says nothing about them.
func certified(s sums, v gramVariance) bool {
	scale := certLambda * unitRoundoff
	yy, yy1, y1y1, dd := s[sYY], s[sYY1], s[sY1Y1], s[sDD]
	if !isFinite(yy) || !isFinite(yy1) || !isFinite(y1y1) || !isFinite(dd) {
		return false
	}
	if errDD := scale * math.Sqrt(v.pp); errDD > 2*certRMSE*dd {
		return false // Δrmse/rmse = Δdd/(2·dd)
	}
	errYY, errY1Y1 := scale*math.Sqrt(v.kk+v.kp+v.pp), scale*math.Sqrt(v.kk)
	if yy1 == 0 && y1y1 == 0 && errY1Y1 == 0 {
		return true // y' = 0 exactly: the cosine is 0 whatever ‖y‖²
	}
	// The first-order bound needs each norm well above its error, and
	// above the 1e-8 floor of the cosine, where its formula changes.
	const floor = 1e-16
	if !(errYY < yy/2 && yy > floor && errY1Y1 < y1y1/2 && y1y1 > floor) {
		return false
	}
	// cos = yy1/sqrt(yy·y1y1), and its derivative along each part.
	norm := math.Sqrt(yy * y1y1)
	cos := yy1 / norm
	slope := func(dyy, dyy1, dy1y1 float64) float64 {
		return dyy1/norm - cos*(dyy/(2*yy)+dy1y1/(2*y1y1))
	}
	gKK, gKP, gPP := slope(1, 1, 1), slope(1, 0.5, 0), slope(1, 0, 0)
	return scale*math.Sqrt(gKK*gKK*v.kk+gKP*gKP*v.kp+gPP*gPP*v.pp) <= certCos
}
