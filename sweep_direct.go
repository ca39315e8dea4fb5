package chanprune

import "slices"

// sweepDirect evaluates batches, when method is Direct, pair by pair over
// many batches at a time, not batch by batch, so that the direct path's
// runs (direct.go) share each weight panel read from memory among the
// batches: batch by batch, every pair of every batch read the whole weight
// again. Each batch's sums are the bits that it gives alone; the batches
// are then recorded in order, as observe records them, sideSums sums at
// most waiting. It returns how many batches it took: all of them when
// method is Direct and the stream is unrepaired, else none.
func (s *Stream) sweepDirect(method Method, batches [][]float32) (int, error) {
	if method != Direct || s.repair != nil || len(batches) < 2 {
		return 0, nil
	}
	points, out := len(s.points), &s.sideOut
	defer func() { out.batches = nil }()
	chunk := max(1, sideSums/points)
	for b0 := 0; b0 < len(batches); b0 += chunk {
		out.batches = batches[b0:min(len(batches), b0+chunk)]
		size := len(out.batches) * points
		out.cur = slices.Grow(out.cur[:0], size)[:size]
		s.directChunk(nil)
		if err := s.recordChunk(Direct, nil, false); err != nil {
			return 0, err
		}
	}
	return len(batches), nil
}

// directChunk sets out.cur of each pair on each of the chunk's batches
// whose entry in need is set (every batch if need is nil) from the direct
// path, pair by pair over all those batches, so that the direct path's
// runs share each weight panel among them. Each batch's sums are the bits
// that observePoint gives it alone.
func (s *Stream) directChunk(need []bool) {
	e, out, points := s.e, &s.sideOut, len(s.points)
	defer func() { clear(out.direct[:cap(out.direct)]) }() // keep no caller memory alive
	for i := range s.points {
		out.direct, out.directAt = out.direct[:0], out.directAt[:0]
		for b, x := range out.batches {
			if need == nil || need[b*points+i] {
				out.direct, out.directAt = append(out.direct, x), append(out.directAt, b)
			}
		}
		if len(out.direct) == 0 {
			continue
		}
		if j := s.same[i]; j >= 0 { // an earlier pair that prunes the same channels, so needed the same batches
			for _, b := range out.directAt {
				out.cur[b*points+i] = out.cur[b*points+j]
			}
			continue
		}
		p := &s.points[i]
		splitChannels(e.perm, s.orders[i/len(s.ratios)], p.NumPruned, e.pruned)
		e.run(out.direct, e.in-p.NumPruned)
		for k, b := range out.directAt {
			out.cur[b*points+i] = e.batchSums[k]
		}
	}
}

// recordChunk records the chunk's batches in order, as observe does, with
// every pair's sums in out.cur from method, except where bad (nil for
// none) marks Gram sums that are not certified: those pairs ran the
// direct path if redone, else count as uncertified.
func (s *Stream) recordChunk(method Method, bad []bool, redone bool) error {
	points, out := len(s.points), &s.sideOut
	for b, x := range out.batches {
		copy(s.cur, out.cur[b*points:(b+1)*points])
		for i := range s.ran {
			miss := bad != nil && bad[b*points+i]
			s.uncertified[i] = miss && !redone
			s.ran[i] = method
			if miss && redone {
				s.ran[i] = Direct
			}
		}
		if err := s.record(x); err != nil {
			return err
		}
	}
	return nil
}
