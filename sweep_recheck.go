package chanprune

// Certifying a sweep's pairs. A sweep bounds each pair's variances
// (gram_certify.go) from sums over its pruned channels' rows
// (sweepCertified); a pair those bounds leave uncertified is contracted
// again alone with its own variances, as Evaluate does (recheck), before
// anything goes to the direct path.

// recheck replaces the sums of each pair that sweepVariance leaves
// uncertified by the pair's own contraction (Evaluate's, batchSums),
// certified by its own variances: the sweep bounds a pair's variances from
// its channels' row sums, which fails pairs their own variances certify.
// Once a batch needs it, the next batches keep G's upper triangle (if it
// is small enough), so that the contraction need not form G again
// (storedSums, the same sums bit for bit). A pair that prunes as many
// channels as an earlier one of its score set copies that one's.
func (sg *sweepGram) recheck(x []float32, workers int) {
	s := sg.s
	rechecked := false
	for p, bad := range sg.bad {
		if !bad {
			continue
		}
		if q := s.same[p]; q >= 0 {
			sg.cur[p], sg.bad[p] = sg.cur[q], sg.bad[q]
			continue
		}
		k := s.points[p].NumPruned
		clear(sg.mask)
		for _, c := range s.orders[p/len(s.ratios)][:k] {
			sg.mask[c] = 1
		}
		var sums sums
		var v gramVariance
		if sg.keep {
			sums, v = sg.storedSums(k)
		} else {
			sums, v = sg.batchSums(x, k, workers)
		}
		sg.cur[p], sg.bad[p] = sums, !certified(sums, v)
		rechecked = true
	}
	if rechecked && !sg.keep && sg.e.in*sg.e.in <= keptGramFloats {
		sg.keep = true
		sg.g = make([]float32, sg.e.in*sg.e.in)
	}
}

// keptGramFloats bounds the G that recheck keeps (16 MiB at in = 2048).
const keptGramFloats = 4 << 20

// storedSums is batchSums from the stored G of the batch: its strips
// contracted as fuse hands them to contractStrip, so the sums are the same
// bit for bit.
func (sg *sweepGram) storedSums(k int) (sums, gramVariance) {
	mr, nr, in := sg.e.kern.mr, sg.e.kern.nr, sg.e.in
	ld := sg.builder.stripWidth()
	clear(sg.part)
	for i0 := 0; i0 < in; i0 += mr {
		for c0 := i0 / nr * nr; c0 < in; c0 += ld {
			sg.contractRows(i0, min(mr, in-i0), c0, min(in, c0+ld), sg.g[i0*in+c0:], in)
		}
	}
	return sg.contractedSums(sg.us, sg.tb, k)
}

// sweepCertified reports whether the sums s of a pair are certified by
// either of two bounds of its variances from sums over its pruned
// channels P: r = Σ r_j, a = Σ H_jj·G_jj and dw = Σ w_jj over j ∈ P.
func (sg *sweepGram) sweepCertified(s sums, r, a, dw float64) bool {
	if certified(s, sg.sweepVariance(r, a)) {
		return true
	}
	v0, v1 := sg.splitVariances(r, dw)
	return certified(s, v0) && certified(s, v1)
}

// splitVariances returns the two extremes of the parts' variances that r
// and dw leave possible. With the sums of w_ij over the pairs i < j that
// are kept×kept, kept×pruned and pruned×pruned, KK, KP, PP ≥ 0, and the
// diagonals' D_K and D_P = dw:
//
//	r − D_P = 2·PP + KP,  rKept − D_K = 2·KK + KP,
//	kk = D_K + 4·KK,  kp = 4·KP,  pp = D_P + 4·PP.
//
// certified's bound is a weighted sum of kk, kp and pp, linear in KP over
// 0 ≤ KP ≤ min(r − D_P, rKept − D_K), so it is largest at one end: a pair
// certified at both ends is certified. Its other checks use pp, kk and
// kk+kp+pp, which are largest at KP = 0 or do not depend on KP.
func (sg *sweepGram) splitVariances(r, dw float64) (v0, v1 gramVariance) {
	dK := max(sg.dw-dw, 0)
	pruned, kept := max(r-dw, 0), max(sg.r-r-dK, 0) // 2·PP + KP, 2·KK + KP
	kp := min(pruned, kept)
	v0 = gramVariance{kk: dK + 2*kept, pp: dw + 2*pruned}
	v1 = gramVariance{kk: dK + 2*(kept-kp), kp: 4 * kp, pp: dw + 2*(pruned-kp)}
	return v0, v1
}

// sweepVariance bounds the variances of the parts of ‖y‖² (gramVariance)
// for the pruned channels P, from two sums over P: r = Σ r_j, where
// r_j = Σ_i w_ij, and a = Σ H_jj·G_jj. Each pruned×pruned pair (4·w_ij)
// counts twice in r, so 2·r bounds their variance, and likewise for the
// kept channels K; each kept×pruned pair counts once in both. By Cauchy–
// Schwarz, w_ij ≤ (nG+nH)·a_i·a_j too, which is tighter when P or K is
// small.
func (sg *sweepGram) sweepVariance(r, a float64) gramVariance {
	rKept, aKept := max(sg.r-r, 0), max(sg.a-a, 0)
	n := 2 * sg.nGH
	return gramVariance{
		kk: min(2*rKept, n*aKept*aKept),
		kp: min(4*min(r, rKept), 2*n*a*aKept),
		pp: min(2*r, n*a*a),
	}
}
