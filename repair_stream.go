package chanprune

import "fmt"

// NewRepairedStream is NewStream with every pair's layer repaired by r
// after pruning, fitted on r.Fit, which a stream needs unless r.Mode is
// CompensateNone (it cannot look ahead at the batches it will evaluate):
// observe the fit batches into a Fit first. The Stream keeps one repaired
// layer per pair, each about 8·Out·In bytes packed and, on the Gram path,
// 32·In² more, and evaluates each batch once per pair: for many pairs of
// a large layer, use a stream per pair (as the CLI does) or SweepRepaired.
func (e *Evaluator) NewRepairedStream(sets []ScoreSet, ratios []float64, r Repair) (*Stream, error) {
	if err := e.checkRepairOn(r); err != nil {
		return nil, err
	}
	if r.Mode != CompensateNone && r.Fit == nil {
		return nil, errNeedFit(r.Mode)
	}
	if err := e.acquire("NewRepairedStream"); err != nil {
		return nil, err
	}
	defer e.release()
	s, err := e.newStream(sets, ratios)
	if err != nil {
		return nil, err
	}
	return s, s.setRepair(r, r.Fit)
}

// setRepair fits r on fit for every pair of s. With r.Mode
// CompensateNone the stream evaluates as a plain one.
func (s *Stream) setRepair(r Repair, fit *Fit) error {
	s.repair = s.repair[:0]
	for i := range s.points {
		s.points[i].setRepair(r, fit)
	}
	if r.Mode == CompensateNone {
		return nil
	}
	e := s.e
	for i := range s.points {
		splitChannels(e.perm, s.orders[i/len(s.ratios)], s.points[i].NumPruned, e.pruned)
		probe, err := e.newRepairProbe(fit, e.pruned, r)
		if err != nil {
			s.repair = nil
			return fmt.Errorf("score set %q, ratio %v: %w", s.points[i].Set, s.points[i].Ratio, err)
		}
		s.repair = append(s.repair, probe)
	}
	return nil
}

// observeRepaired sets the sums of every pair on the batch in progress from
// its repaired layer.
func (s *Stream) observeRepaired(batch []float32) error {
	for i, probe := range s.repair {
		var err error
		if s.cur[i], s.ran[i], s.uncertified[i], err = probe.observe(batch, s.batches, Auto); err != nil {
			return err
		}
	}
	return nil
}

// SweepRepaired is Sweep with every pair's layer repaired by r, fitted on
// r.Fit or, if it is nil, on the batches themselves (one more pass over
// them). It evaluates the pairs one after another, holding one repaired
// layer at a time. With r.Mode CompensateNone it returns Sweep's points
// bit for bit.
func (e *Evaluator) SweepRepaired(batches [][]float32, sets []ScoreSet, ratios []float64, r Repair) ([]Point, error) {
	if err := e.checkRepairOn(r); err != nil {
		return nil, err
	}
	if r.Mode == CompensateNone {
		return e.Sweep(batches, sets, ratios)
	}
	if err := e.acquire("Sweep"); err != nil {
		return nil, err
	}
	defer e.release()
	if err := e.checkSweep(sets, ratios); err != nil {
		return nil, err
	}
	if err := checkBatches(batches, e.in); err != nil {
		return nil, err
	}
	if r.Mode == CompensateBias {
		var points []Point
		return points, e.sweepBias(&points, batches, sets, ratios, r)
	}
	fit, norms, err := e.fitOf(r, batches)
	if err != nil {
		return nil, err
	}
	if norms != nil && sharesBatches(batches) { // the pairs share the fit set: xs·H once per batch
		g := &e.repairState().gram
		g.share(len(batches))
		defer g.unshare()
	}
	points := make([]Point, 0, len(sets)*len(ratios))
	for _, set := range sets {
		for _, ratio := range ratios {
			p := Point{Set: set.Name}
			if err := e.evaluateRepaired(&p.Metrics, batches, set.Scores, ratio, r, fit, norms); err != nil {
				return nil, fmt.Errorf("score set %q, ratio %v: %w", set.Name, ratio, err)
			}
			points = append(points, p)
		}
	}
	return points, nil
}
