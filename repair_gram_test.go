package chanprune

import (
	"fmt"
	"testing"

	"github.com/chanprune/chanprune/internal/seed"
)

// TestRepairFastRouteMatchesReference holds the fast route of a repaired
// evaluation (repair_gram.go) to the float64 reference with every kernel,
// fitted on the evaluated batches (one Gram matrix per block for both) and
// on held-out ones, with batches over gramRows tokens and channels whose
// mean dwarfs their spread; it fails if the route runs for fewer than
// half the batches (it may leave a batch it cannot certify to the probe).
func TestRepairFastRouteMatchesReference(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k *kernel) {
		r := newRand(151)
		fast, batchCount := 0, 0
		for _, tc := range []struct {
			in, out int
			offset  float32 // added to every activation
			heldOut bool
		}{
			{24, 40, 0, false},
			{33, 70, 20, false},
			{16, 16, 0, true},
			{40, 64, 5, true},
		} {
			l := randLayer(r, tc.in, tc.out, true)
			batches := randBatches(r, tc.in, 300, 41, 7)
			fit := batches
			if tc.heldOut {
				fit = randBatches(r, tc.in, 90, 260)
			}
			for _, x := range append(batches, fit...) {
				for i := range x {
					x[i] += tc.offset
				}
			}
			if tc.heldOut {
				for _, x := range fit {
					for i := range x {
						x[i] -= tc.offset / 2 // a fit set whose mean is not the batches'
					}
				}
			}
			scores := randScores(r, tc.in)
			e, err := NewEvaluator(l, WithKernel(k.name))
			if err != nil {
				t.Fatal(err)
			}
			for _, mode := range []Compensation{CompensateBias, CompensateLstsq} {
				for _, ratio := range []float64{0.3, 0.75} {
					name := fmt.Sprintf("%dx%d offset %v held-out %v %v ratio %v", tc.in, tc.out, tc.offset, tc.heldOut, mode, ratio)
					rep := Repair{Mode: mode, Damp: DefaultDamp}
					if tc.heldOut {
						rep.Fit = e.NewFit()
						for _, x := range fit {
							if err := rep.Fit.Observe(x); err != nil {
								t.Fatal(err)
							}
						}
					}
					m, err := e.EvaluateRepaired(batches, scores, ratio, rep)
					if err != nil {
						t.Fatal(err)
					}
					if mode == CompensateLstsq { // bias runs the seed's route (repair_bias.go)
						fast += fastBatches(m)
						batchCount += len(m.PerBatch)
					}
					pruned, _ := PrunedChannels(scores, ratio)
					mask := make([]bool, tc.in)
					for _, c := range pruned {
						mask[c] = true
					}
					rmse, cos, _ := refRepaired(l, batches, fit, mask, mode, DefaultDamp)
					if !within(m.RMSE-rmse, compRMSERel*rmse) || !within(m.CosineSimilarity-cos, 2e-6) {
						t.Errorf("%s: got rmse %.9g cos %.9g, want %.9g %.9g", name, m.RMSE, m.CosineSimilarity, rmse, cos)
					}
				}
			}
		}
		if 2*fast < batchCount {
			t.Errorf("%d of %d batches took the fast route", fast, batchCount)
		}
	})
}

// TestEvaluateRepairedToAllocatesNothing holds a repaired evaluation that
// takes the fast route to no allocation once its scratch is sized, fitted
// on the evaluated batches and on a fit set.
func TestEvaluateRepairedToAllocatesNothing(t *testing.T) {
	r := newRand(16)
	l := randLayer(r, 64, 600, true)
	scores := randScores(r, 64)
	e, err := NewEvaluator(l, WithWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	fit := fitOn(t, e, randBatches(r, 64, 40, 300))
	batches := randBatches(r, 64, 9, 300, 20)
	for _, rep := range []Repair{
		{Mode: CompensateBias},
		{Mode: CompensateLstsq, Damp: DefaultDamp},
		{Mode: CompensateLstsq, Damp: DefaultDamp, Fit: fit},
	} {
		var m Metrics
		if err := e.EvaluateRepairedTo(&m, batches, scores, 0.3, rep); err != nil { // sizes the scratch
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(allocRuns, func() {
			if err := e.EvaluateRepairedTo(&m, batches, scores, 0.3, rep); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v, fit set given %v: %v allocations per repaired evaluation, want 0", rep.Mode, rep.Fit != nil, allocs)
		}
	}
}

// TestRepairFastRouteCertifiesSeedLike holds the fast route's bounds to
// certifying every batch of the seed's layer (2048 outputs, 2 batches) at ratios
// up to 0.5, where bounding y·d by Cauchy–Schwarz over whole norms
// (‖x‖_H·‖r‖_H) certified none at 0.5.
func TestRepairFastRouteCertifiesSeedLike(t *testing.T) {
	ex := seed.New(1024, 2048, 2, 128, 1)
	scores := ex.RandomScores(1)
	forEachKernel(t, func(t *testing.T, k *kernel) {
		e, err := NewEvaluator(Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}, WithKernel(k.name))
		if err != nil {
			t.Fatal(err)
		}
		fast, total := 0, 0
		for _, mode := range []Compensation{CompensateBias, CompensateLstsq} {
			for _, ratio := range []float64{0.05, 0.2, 0.3, 0.5} {
				m, err := e.EvaluateRepaired(ex.Batches, scores, ratio, Repair{Mode: mode, Damp: DefaultDamp})
				if err != nil {
					t.Fatal(err)
				}
				fast += fastBatches(m)
				total += len(m.PerBatch)
			}
		}
		if fast < total {
			t.Errorf("%d of %d batches took the fast route, want all", fast, total)
		}
	})
}

// fastBatches counts the batches of m that the fast route evaluated: it
// reports Gram, the probe's redo Direct.
func fastBatches(m Metrics) int {
	n := 0
	for _, b := range m.PerBatch {
		if b.Method == Gram {
			n++
		}
	}
	return n
}

// TestRepairFastRouteSweepSharesHx: a repaired sweep on the fast route
// forms xs·H once per batch for all its pairs; each point must equal the
// Evaluate of its pair, in both modes and with a fit set given, and a
// second sweep on other batches of the same shape must not read the
// first's xs·H. A bias repair runs the seed's machinery, where a sweep
// may plan Gram and one evaluation Direct (different roundings): its
// points are compared on the direct path.
func TestRepairFastRouteSweepSharesHx(t *testing.T) {
	r := newRand(152)
	l := randLayer(r, 24, 48, true)
	sets := []ScoreSet{{"a", randScores(r, 24)}, {"b", randScores(r, 24)}}
	ratios := []float64{0.2, 0.5, 0.9}
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := NewEvaluator(l, WithMethod(Direct))
	if err != nil {
		t.Fatal(err)
	}
	fit := fitOn(t, e, randBatches(r, 24, 200, 5))
	fast := 0
	for round := range 2 {
		batches := randBatches(r, 24, 60, 3)
		for _, rep := range []Repair{
			{Mode: CompensateBias},
			{Mode: CompensateLstsq, Damp: DefaultDamp},
			{Mode: CompensateLstsq, Damp: DefaultDamp, Fit: fit},
		} {
			ev := e
			if rep.Mode == CompensateBias {
				ev = direct
			}
			points, err := ev.SweepRepaired(batches, sets, ratios, rep)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range points {
				m, err := ev.EvaluateRepaired(batches, sets[i/len(ratios)].Scores, p.Ratio, rep)
				if err != nil {
					t.Fatal(err)
				}
				fast += fastBatches(m)
				if p.RMSE != m.RMSE || p.CosineSimilarity != m.CosineSimilarity {
					t.Errorf("round %d, %v, fit given %v, point %d: sweep %v %v, evaluate %v %v", round, rep.Mode, rep.Fit != nil, i, p.RMSE, p.CosineSimilarity, m.RMSE, m.CosineSimilarity)
				}
			}
		}
	}
	if fast == 0 {
		t.Error("no batch took the fast route")
	}
}

// TestRepairGramSharedMatchesFresh: with its per-batch quantities shared
// (a sweep), the fast route's sums and variance proxies (and their loose
// bounds) of a batch equal those formed afresh, also after a second sweep
// on other batches.
func TestRepairGramSharedMatchesFresh(t *testing.T) {
	r := newRand(153)
	const in = 16
	l := randLayer(r, in, 32, true)
	first, second := randBatches(r, in, 10, 3), randBatches(r, in, 10, 3)
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	fit := fitOn(t, e, append(first, second...))
	isPruned := make([]bool, in)
	for c := range in / 2 {
		isPruned[2*c] = true
	}
	var rf repairFit
	if err := rf.fitTo(fit, isPruned, CompensateLstsq, DefaultDamp); err != nil {
		t.Fatal(err)
	}
	var shared, fresh repairGram
	shared.set(e, &rf)
	fresh.set(e, &rf)
	for _, batches := range [][][]float32{first, second} {
		shared.share(len(batches))
		for b, x := range batches {
			shared.group(batches, b)
			s1, _ := shared.observe(x, b, outputNorm{})
			vyd1, vdd1 := shared.variances(x, b, len(x)/in)
			fresh.group(batches, b)
			s2, _ := fresh.observe(x, b, outputNorm{})
			vyd2, vdd2 := fresh.variances(x, b, len(x)/in)
			if s1 != s2 || vyd1 != vyd2 || vdd1 != vdd2 {
				t.Errorf("batch %d: shared %v %v %v, fresh %v %v %v", b, s1, vyd1, vdd1, s2, vyd2, vdd2)
			}
			lyd1, ldd1 := shared.looseVariances(b)
			lyd2, ldd2 := fresh.looseVariances(b)
			if lyd1 != lyd2 || ldd1 != ldd2 {
				t.Errorf("batch %d: loose bounds shared %v %v, fresh %v %v", b, lyd1, ldd1, lyd2, ldd2)
			}
		}
		shared.unshare()
	}
}

// fitOn returns e's fit set of batches.
func fitOn(t *testing.T, e *Evaluator, batches [][]float32) *Fit {
	t.Helper()
	fit := e.NewFit()
	for _, x := range batches {
		if err := fit.Observe(x); err != nil {
			t.Fatal(err)
		}
	}
	return fit
}

// TestRepairKeptRouteCertifiesHighRatios: where most of the output is
// pruned (random scores at ratios 0.75 and 0.9 on a seed-like layer), the
// fast route's y·y” = ‖y‖² − y·d often cannot be certified (here most
// cases with a held-out fit set whose mean is not the batches'), and those
// batches went to the probe; the kept route (repair_kept.go) forms y·y”
// and ‖y”‖² directly and must certify every batch, fitted on the
// evaluated batches and on the held-out ones, and agree with the probe (a
// Direct Evaluator) within the tolerances.
func TestRepairKeptRouteCertifiesHighRatios(t *testing.T) {
	ex := seed.New(1024, 2048, 2, 128, 1)
	layer := Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
	scores := ex.RandomScores(1)
	held := seed.New(1024, 2048, 2, 128, 2).Batches
	for _, x := range held {
		for i := range x {
			x[i] += 0.5
		}
	}
	probe, err := NewEvaluator(layer, WithMethod(Direct))
	if err != nil {
		t.Fatal(err)
	}
	forEachKernel(t, func(t *testing.T, k *kernel) {
		e, err := NewEvaluator(layer, WithKernel(k.name))
		if err != nil {
			t.Fatal(err)
		}
		for _, heldOut := range []bool{false, true} {
			for _, mode := range []Compensation{CompensateBias, CompensateLstsq} {
				for _, ratio := range []float64{0.75, 0.9} {
					rep, want := Repair{Mode: mode, Damp: DefaultDamp}, Repair{Mode: mode, Damp: DefaultDamp}
					if heldOut {
						rep.Fit, want.Fit = fitOn(t, e, held), fitOn(t, probe, held)
					}
					m, err := e.EvaluateRepaired(ex.Batches, scores, ratio, rep)
					if err != nil {
						t.Fatal(err)
					}
					ref, err := probe.EvaluateRepaired(ex.Batches, scores, ratio, want)
					if err != nil {
						t.Fatal(err)
					}
					name := fmt.Sprintf("%v ratio %v held-out %v", mode, ratio, heldOut)
					if fast := fastBatches(m); fast < len(m.PerBatch) {
						t.Errorf("%s: %d of %d batches took the fast route, want all", name, fast, len(m.PerBatch))
					}
					if !within(m.RMSE-ref.RMSE, compRMSERel*ref.RMSE) || !within(m.CosineSimilarity-ref.CosineSimilarity, 2e-6) {
						t.Errorf("%s: got rmse %.9g cos %.9g, the probe %.9g %.9g", name, m.RMSE, m.CosineSimilarity, ref.RMSE, ref.CosineSimilarity)
					}
				}
			}
		}
	})
}

// TestRepairRoutesIgnoreWorkers: repaired sweeps give the same points bit
// for bit with one worker and with three, in both modes, on a seed-like
// layer fitted on held-out batches of another mean, where the kept route
// (repair_kept.go) certifies the mostly-pruned pairs, and bias runs the
// seed's route on shifted rows (repair_bias.go).
func TestRepairRoutesIgnoreWorkers(t *testing.T) {
	ex := seed.New(1024, 2048, 2, 128, 1)
	layer := Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
	sets := []ScoreSet{{"random", ex.RandomScores(1)}}
	ratios := []float64{0.3, 0.9}
	held := seed.New(1024, 2048, 2, 128, 2).Batches
	for _, x := range held {
		for i := range x {
			x[i] += 0.5
		}
	}
	var got [][]Point
	for _, workers := range []int{1, 3} {
		e, err := NewEvaluator(layer, WithWorkers(workers))
		if err != nil {
			t.Fatal(err)
		}
		fit := fitOn(t, e, held)
		var points []Point
		for _, mode := range []Compensation{CompensateBias, CompensateLstsq} {
			p, err := e.SweepRepaired(ex.Batches, sets, ratios, Repair{Mode: mode, Damp: DefaultDamp, Fit: fit})
			if err != nil {
				t.Fatal(err)
			}
			points = append(points, p...)
		}
		if !e.repair.gram.keptRt.ready {
			t.Fatalf("%d workers: the kept route did not run", workers)
		}
		got = append(got, points)
	}
	for i, p := range got[0] {
		q := got[1][i]
		if p.RMSE != q.RMSE || p.CosineSimilarity != q.CosineSimilarity || p.Method != q.Method {
			t.Errorf("point %d (%v, ratio %v): one worker %v %v %v, three %v %v %v", i, p.Compensation, p.Ratio, p.RMSE, p.CosineSimilarity, p.Method, q.RMSE, q.CosineSimilarity, q.Method)
		}
	}
}

// TestRepairGramVariancesCountMirroredEntries: H_ij and H_ji are one
// rounded value, so the first-order error of y·d and ‖d‖² carries each
// stored entry's rounding with the sum of its two coefficients. The
// fast route's proxies (and their loose bounds) must be at least the
// variance proxy computed entry by entry over H's upper triangle.
func TestRepairGramVariancesCountMirroredEntries(t *testing.T) {
	r := newRand(157)
	const in = 12
	l := randLayer(r, in, 24, true)
	batches := randBatches(r, in, 9, 5)
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	fit := fitOn(t, e, batches)
	isPruned := make([]bool, in)
	for _, c := range []int{1, 2, 5, 8, 9} {
		isPruned[c] = true
	}
	var rf repairFit
	if err := rf.fitTo(fit, isPruned, CompensateLstsq, DefaultDamp); err != nil {
		t.Fatal(err)
	}
	var g repairGram
	g.set(e, &rf)
	diag := e.layerGram.diag
	for b, x := range batches {
		g.group(batches, b)
		g.observe(x, b, outputNorm{})
		tokens, p := len(x)/in, g.p
		at := make(map[int]int) // channel → its column in r
		for j, c := range g.pruned {
			at[c] = j
		}
		// coefficient of H_ab's rounding (a ≤ b) in y·d = Σ_t Σ_i Σ_{j∈P} x_ti·H_ij·r_tj
		// and in ‖d‖² = Σ_t Σ_{i,j∈P} r_ti·H_ij·r_tj
		var wantYD, wantDD float64
		for a := range in {
			for bb := a; bb < in; bb++ {
				var cyd, cdd float64
				for tk := range tokens {
					xt, rt := x[tk*in:(tk+1)*in], g.r[tk*p:(tk+1)*p]
					if j, ok := at[bb]; ok {
						cyd += float64(xt[a]) * float64(rt[j])
					}
					if j, ok := at[a]; ok && a != bb {
						cyd += float64(xt[bb]) * float64(rt[j])
					}
					ja, okA := at[a]
					jb, okB := at[bb]
					if okA && okB {
						if a == bb {
							cdd += float64(rt[ja]) * float64(rt[jb])
						} else {
							cdd += 2 * float64(rt[ja]) * float64(rt[jb])
						}
					}
				}
				v := g.rounds * diag[a] * diag[bb]
				wantYD += v * cyd * cyd
				wantDD += v * cdd * cdd
			}
		}
		vyd, vdd := g.variances(x, b, tokens)
		lyd, ldd := g.looseVariances(b)
		const slack = 1 - 1e-4 // the proxies' own float32 products
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"y·d", vyd, wantYD}, {"‖d‖²", vdd, wantDD}, {"loose y·d", lyd, wantYD}, {"loose ‖d‖²", ldd, wantDD}} {
			if c.got < slack*c.want {
				t.Errorf("batch %d: %s proxy %v, below the entry-by-entry %v", b, c.name, c.got, c.want)
			}
		}
	}
}
