package chanprune

// The Gram path of a sweep: with the channels of a
// score set in pruning order π, the pruned sets of its ratios are nested
// prefixes of π, so y·d and ‖d‖² grow channel by channel:
//
//	y·d(k)  = y·d(k−1) + c_{π_{k−1}} + u_{π_{k−1}}·s_{π_{k−1}}
//	‖d‖²(k) = ‖d‖²(k−1) + M_{qq} + 2·Σ_{i<k−1} M_{π_i q},  q = π_{k−1}, M = H⊙G
//
// after the c_j and ‖y‖² that every set shares. Rather than gather M along
// π, row q of M is summed over the channels ranked below q (lowerSum):
// contiguous, k_max·in entries per set and batch. The kernel forms the row
// of M from those of H and G as it sums (gramRow), so M is never stored,
// and one worker sums a row for every set while it is in L1.

// observeGram evaluates every pair on one batch from its Gram matrix. A
// stream of one pair (the CLI's eval) contracts the batch as Evaluate does,
// never storing G for a batch of at most gramRows tokens; more pairs share
// one full G and its row sums.
func (s *Stream) observeGram(batch []float32) {
	e := s.e
	if len(s.points) == 1 {
		k := s.points[0].NumPruned
		splitChannels(e.perm, s.orders[0], k, e.pruned)
		e.setGramMask()
		sums, v := e.gram.batchSums(batch, k, e.workerCount())
		s.cur[0], s.uncertified[0] = sums, !certified(sums, v)
	} else {
		s.observeGramSets(batch)
	}
	if e.method == Gram {
		return // forced: the uncertified pairs are counted
	}
	for i, bad := range s.uncertified {
		if bad {
			s.observePoint(i)
			s.uncertified[i] = false
			s.ran[i] = Direct
		}
	}
}

// observeGramSets evaluates every pair on one batch from its full G and
// the row sums of H⊙G, score set by score set (gramSet).
func (s *Stream) observeGramSets(batch []float32) {
	e := s.e
	us, tb := e.storeGram(batch)
	gb := e.gram
	workers := e.workerCount()
	s.rows.do(e.in, workers, (*Stream).gramRow, s)
	var hg float64
	s.gram.r, s.gram.a, s.gram.rounds = 0, 0, gb.rounds+e.layerGram.rounds
	for j, c := range gb.c {
		hg += c
		s.gram.r += gb.w[j]
		s.gram.a += float64(e.layerGram.diag[j]) * float64(gb.diag[j])
	}
	s.gram.yy, s.gram.us, s.gram.tb = hg+2*us+tb, us, tb
	for i := range s.names {
		s.gramSet(i)
	}
}

// gramRow sets c_j and w_j (gramBatch) from the full row j of H⊙G (G in
// both triangles) with the kernel's contract and, for each score set that
// prunes channel j at one of its ratios, sets lower[set][j] to the row's
// share of ‖d‖²: M_jj plus twice the row of M = H⊙G (each entry the exact
// product rounded once to float32) summed over the channels ranked below j
// (lowerSum), the rows of H and G read from L1 after the first.
func (s *Stream) gramRow(_, j int) {
	e := s.e
	gb, lg, in := e.gram, e.layerGram, e.in
	h, g := lg.h[j*in:(j+1)*in], gb.g[j*in:(j+1)*in]
	fg, fh := gb.rounds*float64(gb.diag[j]), lg.rounds*float64(lg.diag[j])
	p := &gb.part[j]
	*p = sums{}
	e.kern.contractRow(h, g, gb.mask, lg.diag, gb.diag, fg, fh, p)
	gb.c[j], gb.w[j] = p[0], p[2]
	last := s.byK[len(s.byK)-1] // the ratio that prunes the most
	for set, rank := range s.ranks[:len(s.names)] {
		if r := rank[j]; int(r) < s.points[set*len(s.ratios)+last].NumPruned {
			s.lower[set][j] = float64(h[j]*g[j]) + 2*e.kern.lowerSum(h, g, rank, r)
		}
	}
}

// gramSet evaluates score set i at each of its ratios.
func (s *Stream) gramSet(i int) {
	e, gb := s.e, s.e.gram
	in, u := e.in, e.layerGram.u
	order, lower := s.orders[i], s.lower[i]
	var yd, dd, w, a float64 // Σ r_q and Σ H_qq·G_qq over the pruned channels q
	k := 0
	for _, r := range s.byK {
		p := i*len(s.ratios) + r
		for want := s.points[p].NumPruned; k < want; k++ {
			q := int(order[k])
			dd += lower[q]
			yd += gb.c[q] + u[q]*gb.colSum[q]
			w += gb.w[q]
			a += float64(e.layerGram.diag[q]) * float64(gb.diag[q])
		}
		s.cur[p] = gramSums(s.gram.yy, yd, dd, k == in, s.gram.us, s.gram.tb)
		s.uncertified[p] = !certified(s.cur[p], s.sweepVariance(w, a))
	}
}

// sweepVariance bounds the variances of the parts of ‖y‖² (gramVariance)
// for the pruned channels P, from two sums over P: r = Σ r_j, where
// r_j = Σ_i w_ij, and a = Σ H_jj·G_jj. Each pruned×pruned pair (4·w_ij)
// counts twice in r, so 2·r bounds their variance, and likewise for the
// kept channels K; each kept×pruned pair counts once in both. By Cauchy–
// Schwarz, w_ij ≤ (nG+nH)·a_i·a_j too, which is tighter when P or K is
// small.
func (s *Stream) sweepVariance(r, a float64) gramVariance {
	rKept, aKept := max(s.gram.r-r, 0), max(s.gram.a-a, 0)
	n := 2 * s.gram.rounds
	return gramVariance{
		kk: min(2*rKept, n*aKept*aKept),
		kp: min(4*min(r, rKept), 2*n*a*aKept),
		pp: min(2*r, n*a*a),
	}
}
