package chanprune

// The Gram path of a sweep (DESIGN.md, "Sweeps"): with the channels of a
// score set in pruning order π, the pruned sets of its ratios are nested
// prefixes of π, so y·d and ‖d‖² grow channel by channel:
//
//	y·d(k)  = y·d(k−1) + c_{π_{k−1}} + u_{π_{k−1}}·s_{π_{k−1}}
//	‖d‖²(k) = ‖d‖²(k−1) + M_{qq} + 2·Σ_{i<k−1} M_{π_i q},  q = π_{k−1}, M = H⊙G
//
// after the c_j and ‖y‖² that every set shares. Rather than gather M along
// π, row q of M is summed over the channels ranked below q (lowerSum):
// contiguous, k_max·in entries per set and batch.

// observeGram evaluates every pair on one batch from its Gram matrix.
func (s *Stream) observeGram(batch []float32) {
	e := s.e
	us, tb := e.gramInputs(batch, true)
	gb := e.gram
	workers := e.workerCount()
	gb.rowSums.do(e.in, workers)
	var hg float64
	for _, c := range gb.c {
		hg += c
	}
	s.gram.yy, s.gram.us, s.gram.tb = hg+2*us+tb, us, tb
	s.job.do(len(s.names), min(workers, len(s.names)))
}

// gramSet evaluates score set i at each of its ratios.
func (s *Stream) gramSet(_, i int) {
	e, gb := s.e, s.e.gram
	in := e.in
	m, u := gb.g, e.layerGram.u // g holds M = H⊙G now
	order, rank := s.orders[i], s.ranks[i]
	var yd, dd float64
	k := 0
	for _, r := range s.byK {
		for want := NumPruned(in, s.ratios[r]); k < want; k++ {
			q := int(order[k])
			row := m[q*in : (q+1)*in]
			dd += float64(row[q]) + 2*e.kern.lowerSum(row, rank, int32(k))
			yd += gb.c[q] + u[q]*gb.colSum[q]
		}
		s.cur[i*len(s.ratios)+r] = gramSums(s.gram.yy, yd, dd, k == in, s.gram.us, s.gram.tb)
	}
}
