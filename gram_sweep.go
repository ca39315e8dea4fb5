package chanprune

import "slices"

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

// sweepGram is the Gram state of one batch of a sweep: its G in both
// triangles, the row sums every pair shares and every pair's sums. A
// stream has one; a sweep of small batches one per worker (sweep_side.go).
type sweepGram struct {
	*gramScratch
	s     *Stream
	g     []float32      // G = xᵀx, in×in, both triangles, made at first use
	c     []float64      // per channel j: Σ_i H_ij·G_ij
	w     []float64      // per channel j: Σ_i w_ij, the variance proxies of row j (gram_certify.go)
	lower [][]float64    // per score set: each channel's share of ‖d‖² (gramRow)
	store stripSink      // storeStrip
	rows  job[sweepGram] // the rows of H⊙G (gramRow)
	yy    float64        // ‖y‖²
	us    float64        // u·s
	tb    float64        // T·‖b‖²
	r, a  float64        // Σ_j r_j and Σ_j H_jj·G_jj over all channels (sweepVariance)
	nGH   float64        // nG+nH (gram_certify.go)
	cur   []sums         // per point: the batch's sums
	bad   []bool         // per point: its sums are not certified
}

func newSweepGram(s *Stream, scratch *gramScratch) *sweepGram {
	sg := &sweepGram{gramScratch: scratch, s: s}
	sg.store = sg.storeStrip
	return sg
}

// ready sizes sg for s's score sets and points.
func (sg *sweepGram) ready() {
	in, s := sg.e.in, sg.s
	if sg.g == nil {
		sg.g = make([]float32, in*in)
		sg.c = make([]float64, in)
		sg.w = make([]float64, in)
	}
	for len(sg.lower) < len(s.names) {
		sg.lower = append(sg.lower, make([]float64, in))
	}
	sg.cur = slices.Grow(sg.cur[:0], len(s.points))[:len(s.points)]
	sg.bad = slices.Grow(sg.bad[:0], len(s.points))[:len(s.points)]
}

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
		if s.gram == nil {
			e.setGramMask() // builds H
			s.gram = newSweepGram(s, e.gram.gramScratch)
		}
		s.gram.ready()
		s.gram.observe(batch, e.workerCount())
		copy(s.cur, s.gram.cur)
		copy(s.uncertified, s.gram.bad)
	}
	s.redoUncertified()
}

// redoUncertified redoes on the direct path the pairs whose Gram sums are
// not certified, unless the Gram path is forced (then they are counted).
func (s *Stream) redoUncertified() {
	if s.e.method == Gram {
		return
	}
	for i, bad := range s.uncertified {
		if bad {
			s.observePoint(i)
			s.uncertified[i] = false
			s.ran[i] = Direct
		}
	}
}

// observe sets sg.cur and sg.bad for every pair on batch x from its full G
// and the row sums of H⊙G, score set by score set (gramSet), on workers
// workers.
func (sg *sweepGram) observe(x []float32, workers int) {
	e := sg.e
	sg.us, sg.tb = sg.form(x, workers, sg.store)
	sg.rows.do(e.in, workers, (*sweepGram).gramRow, sg)
	var hg float64
	sg.r, sg.a, sg.nGH = 0, 0, sg.rounds+e.layerGram.rounds
	for j, c := range sg.c {
		hg += c
		sg.r += sg.w[j]
		sg.a += float64(e.layerGram.diag[j]) * float64(sg.diag[j])
	}
	sg.yy = hg + 2*sg.us + sg.tb
	for i := range sg.s.names {
		sg.gramSet(i)
	}
}

// storeStrip is the sink (gramBuilder.fuse) of a full G: it stores the
// strip's entries on and right of the diagonal in their rows of sg.g and
// those right of it in their columns too, so that every entry of G is
// written once, by the worker of its strip, without the twice as many
// tiles of forming both triangles or a mirroring pass over G.
func (sg *sweepGram) storeStrip(i0, m, c0 int, strip []float32, ld int) {
	g, in := sg.g, sg.e.in
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

// gramRow sets c_j and w_j from the full row j of H⊙G (G in both
// triangles) with the kernel's contract and, for each score set that
// prunes channel j at one of its ratios, sets lower[set][j] to the row's
// share of ‖d‖²: M_jj plus twice the row of M = H⊙G (each entry the exact
// product rounded once to float32) summed over the channels ranked below j
// (lowerSum), the rows of H and G read from L1 after the first.
func (sg *sweepGram) gramRow(_, j int) {
	e, s := sg.e, sg.s
	lg, in := e.layerGram, e.in
	h, g := lg.h[j*in:(j+1)*in], sg.g[j*in:(j+1)*in]
	fg, fh := sg.rounds*float64(sg.diag[j]), lg.rounds*float64(lg.diag[j])
	p := &sg.part[j]
	*p = sums{}
	e.kern.contractRow(h, g, e.gram.mask, lg.diag, sg.diag, fg, fh, p)
	sg.c[j], sg.w[j] = p[0], p[2]
	last := s.byK[len(s.byK)-1] // the ratio that prunes the most
	for set, rank := range s.ranks[:len(s.names)] {
		if r := rank[j]; int(r) < s.points[set*len(s.ratios)+last].NumPruned {
			sg.lower[set][j] = float64(h[j]*g[j]) + 2*lowerSumRef(h, g, rank, r)
		}
	}
}

// gramSet evaluates score set i at each of its ratios.
func (sg *sweepGram) gramSet(i int) {
	e, s := sg.e, sg.s
	in, u := e.in, e.layerGram.u
	order, lower := s.orders[i], sg.lower[i]
	var yd, dd, w, a float64 // Σ r_q and Σ H_qq·G_qq over the pruned channels q
	k := 0
	for _, r := range s.byK {
		p := i*len(s.ratios) + r
		for want := s.points[p].NumPruned; k < want; k++ {
			q := int(order[k])
			dd += lower[q]
			yd += sg.c[q] + u[q]*sg.colSum[q]
			w += sg.w[q]
			a += float64(e.layerGram.diag[q]) * float64(sg.diag[q])
		}
		sg.cur[p] = gramSums(sg.yy, yd, dd, k == in, sg.us, sg.tb)
		sg.bad[p] = !certified(sg.cur[p], sg.sweepVariance(w, a))
	}
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

// lowerSumRef is Σ h[j]·g[j] (float32 products) over rank[j] < below, in
// float64: a stand-in until the sweep consumes lowerSplit.
func lowerSumRef(h, g []float32, rank []int32, below int32) (s float64) {
	for j, v := range h {
		if rank[j] < below {
			s += float64(v * g[j])
		}
	}
	return s
}
