package chanprune

import "slices"

// sweepDirect evaluates a direct sweep's batches pair by pair over many
// batches at a time, not batch by batch, so that the direct path's runs
// (direct.go) share each weight panel read from memory among the batches:
// batch by batch, every pair of every batch read the whole weight again.
// Each batch's sums are the bits that it gives alone; the batches are
// then recorded in order, as observe records them, sideSums sums at most
// waiting. It returns how many batches it took: all of them when the sweep
// runs the direct path unrepaired, else none.
func (s *Stream) sweepDirect(batches [][]float32) (int, error) {
	e := s.e
	if s.method != Direct || s.repair != nil || len(batches) < 2 {
		return 0, nil
	}
	points, out := len(s.points), &s.sideOut
	defer func() { out.batches = nil }()
	chunk := max(1, sideSums/points)
	for b0 := 0; b0 < len(batches); b0 += chunk {
		out.batches = batches[b0:min(len(batches), b0+chunk)]
		n := len(out.batches)
		out.cur = slices.Grow(out.cur[:0], n*points)[:n*points]
		for i := range s.points {
			if j := s.same[i]; j >= 0 {
				for b := range n {
					out.cur[b*points+i] = out.cur[b*points+j]
				}
				continue
			}
			p := &s.points[i]
			splitChannels(e.perm, s.orders[i/len(s.ratios)], p.NumPruned, e.pruned)
			e.run(out.batches, e.in-p.NumPruned)
			for b, sum := range e.batchSums[:n] {
				out.cur[b*points+i] = sum
			}
		}
		clear(s.uncertified)
		for i := range s.ran {
			s.ran[i] = Direct
		}
		for b, x := range out.batches {
			copy(s.cur, out.cur[b*points:(b+1)*points])
			if err := s.record(x); err != nil {
				return 0, err
			}
		}
	}
	return len(batches), nil
}
