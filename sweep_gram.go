package chanprune

// The Gram path of a sweep (DESIGN.md, "Sweeps"): with the channels of a
// score set in pruning order π, the pruned sets of its ratios are nested
// prefixes of π, so y·d and ‖d‖² grow channel by channel:
//
//	y·d(k)  = y·d(k−1) + c_{π_{k−1}} + u_{π_{k−1}}·s_{π_{k−1}}
//	‖d‖²(k) = ‖d‖²(k−1) + M_{qq} + 2·Σ_{i<k−1} M_{π_i q},  q = π_{k−1}, M = H⊙G
//
// at most k_max²/2 entries of M per set and batch, after the c_j and ‖y‖²
// that every set shares.

// observeGram evaluates every pair on one batch from its Gram matrix.
func (s *Stream) observeGram(batch []float32) {
	e := s.e
	us, tb := e.gramInputs(batch)
	gb := e.gram
	mirror(gb.g, e.in)
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
	h, g, u := e.layerGram.h, gb.g, e.layerGram.u
	order := s.orders[i]
	var yd, dd float64
	k := 0
	for _, r := range s.byK {
		for want := NumPruned(in, s.ratios[r]); k < want; k++ {
			q := int(order[k])
			cross := gatherDot64(h[q*in:(q+1)*in], g[q*in:(q+1)*in], order[:k])
			dd += float64(h[q*in+q])*float64(g[q*in+q]) + 2*cross
			yd += gb.c[q] + u[q]*gb.colSum[q]
		}
		s.cur[i*len(s.ratios)+r] = gramSums(s.gram.yy, yd, dd, k == in, s.gram.us, s.gram.tb)
	}
}

// gatherDot64 is Σ_p a[idx[p]]·b[idx[p]] in float64, four partial sums.
func gatherDot64(a, b []float32, idx []int32) float64 {
	var acc [4]float64
	p := 0
	for ; p+4 <= len(idx); p += 4 {
		i4 := idx[p : p+4 : p+4]
		for l := range 4 {
			acc[l] += float64(a[i4[l]]) * float64(b[i4[l]])
		}
	}
	for ; p < len(idx); p++ {
		acc[0] += float64(a[idx[p]]) * float64(b[idx[p]])
	}
	return (acc[0] + acc[1]) + (acc[2] + acc[3])
}
