package chanprune

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

// A streamBatchesCase is a stream's pairs and the batches it is fed.
type streamBatchesCase struct {
	name    string
	layer   Linear
	sets    []ScoreSet
	ratios  []float64
	batches [][]float32
}

// streamBatchesCases are runs of one size, so that ObserveBatches has runs
// to form, and sizes that Auto plans Direct and Gram by turns: for a
// sweep, before and after H is built; for one pair of a 64→256 layer, a
// batch that Auto plans Gram before H (big), batches that go Direct until
// H is built or paid for and Gram after (mid), so that a run planned
// ahead of H, or a cost counted twice, would change a method, and 5-token
// batches, which make the direct path's cost reach H's.
func streamBatchesCases(t *testing.T) []streamBatchesCase {
	t.Helper()
	l, _, sets := sweepCase(31, 24, 40)
	one := randLayer(newRand(34), 64, 256, true)
	oneSet := []ScoreSet{{"random", randScores(newRand(35), 64)}}
	big, mid := switchTokens(t, one)
	return []streamBatchesCase{
		{"runs", l, sets, sweepRatios, randBatches(newRand(32), 24, 7, 7, 7, 1, 12, 12, 300, 300, 5, 64, 64, 64)},
		{"mixed", l, sets, sweepRatios, randBatches(newRand(33), 24, 1, 1, 300, 1, 1, 300, 300, 1, 12, 1, 2, 200, 1)},
		{"one pair", l, sets[:1], []float64{0.3}, randBatches(newRand(36), 24, 7, 7, 300, 12, 12, 1)},
		{"H built", one, oneSet, []float64{0.5}, randBatches(newRand(37), 64, big, mid, mid, 5, big, mid)},
		{"H paid", one, oneSet, []float64{0.5}, randBatches(newRand(38), 64, 5, 5, 5, 5, mid, mid, 5)},
	}
}

// switchTokens returns, for one pair of l under the kernel's own planner
// rates, the fewest tokens that Auto plans Gram before H is built (big)
// and the fewest that it plans Direct before H is paid for and Gram after
// and with H built (mid); 5 tokens must plan Direct either way.
func switchTokens(t *testing.T, l Linear) (big, mid int) {
	t.Helper()
	e, built := newTestEvaluator(t, l, Auto, 1), newTestEvaluator(t, l, Auto, 1)
	built.setGramMask() // builds H
	plan := func(e *Evaluator, tokens int, paid bool) Method {
		return e.plan([][]float32{make([]float32, tokens*l.In)}, 1, 1, paid)
	}
	for tokens := 1; tokens <= 4096 && (big == 0 || mid == 0); tokens++ {
		if big == 0 && plan(e, tokens, false) == Gram {
			big = tokens
		}
		if mid == 0 && plan(e, tokens, false) == Direct && plan(e, tokens, true) == Gram && plan(built, tokens, false) == Gram {
			mid = tokens
		}
	}
	if big == 0 || mid == 0 || plan(e, 5, true) != Direct || plan(built, 5, false) != Direct {
		t.Fatalf("%d→%d: no batch sizes that switch the plan with H (big %d, mid %d)", l.In, l.Out, big, mid)
	}
	return big, mid
}

// groupCycles are the group sizes ObserveBatches is fed, each repeated
// over the batches: all at once, and runs of several sizes.
var groupCycles = [][]int{{1 << 10}, {1}, {2, 3, 4}, {5, 1, 6}, {1, 11}}

// observeGroups feeds batches to s in groups of the sizes of cycle, by
// turns, until none is left.
func observeGroups(s *Stream, batches [][]float32, cycle []int) error {
	for i := 0; len(batches) > 0; i++ {
		n := min(len(batches), cycle[i%len(cycle)])
		if err := s.ObserveBatches(batches[:n]); err != nil {
			return err
		}
		batches = batches[n:]
	}
	return nil
}

// ObserveBatches gives the points of Observe in turn, bit for bit and
// with the same method per batch, however the batches are grouped, on
// every method, for a sweep and for a single pair.
func TestObserveBatchesEqualsObserve(t *testing.T) {
	for _, c := range streamBatchesCases(t) {
		for _, method := range []Method{Direct, Gram, Auto} {
			for _, workers := range []int{1, 3} {
				// A fresh Evaluator for each stream: H, once built, is the
				// Evaluator's and changes what Auto plans.
				want := streamed(t, newTestEvaluator(t, c.layer, method, workers), c.batches, c.sets, c.ratios)
				for _, cycle := range groupCycles {
					s, err := newTestEvaluator(t, c.layer, method, workers).NewStream(c.sets, c.ratios)
					if err != nil {
						t.Fatal(err)
					}
					if err := observeGroups(s, c.batches, cycle); err != nil {
						t.Fatal(err)
					}
					got, err := s.Result()
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s, %v, %d workers, groups of %v: points differ from Observe in turn",
							c.name, method, workers, cycle)
					}
				}
			}
		}
	}
}

// newTestEvaluator is an Evaluator of l on method and workers.
func newTestEvaluator(t *testing.T, l Linear, method Method, workers int) *Evaluator {
	t.Helper()
	e, err := NewEvaluator(l, WithMethod(method), WithWorkers(workers))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// ObserveBatches stops where Observe in turn stops: at a batch of the
// wrong shape or with metrics that are not finite, the error naming it in
// the stream's count, the batches before it observed, and the stream
// going on after it as Observe's does.
func TestObserveBatchesStopsAtBadBatch(t *testing.T) {
	for _, c := range streamBatchesCases(t)[3:] {
		batches := c.batches
		inf := append([]float32(nil), batches[2]...)
		inf[5] = float32(math.Inf(1))
		for _, tc := range []struct {
			name string
			bad  []float32
			want error
		}{
			{"ragged", batches[2][:len(batches[2])-1], ErrShape},
			{"empty", nil, ErrEmpty},
			{"infinite", inf, nil},
		} {
			for _, method := range []Method{Direct, Gram, Auto} {
				group := append(append(append([][]float32(nil), batches[:2]...), tc.bad), batches[3:]...)
				ref, err := newTestEvaluator(t, c.layer, method, 2).NewStream(c.sets, c.ratios)
				if err != nil {
					t.Fatal(err)
				}
				var refErr error
				for _, x := range group {
					if refErr = ref.Observe(x); refErr != nil {
						break
					}
				}
				s, err := newTestEvaluator(t, c.layer, method, 2).NewStream(c.sets, c.ratios)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Observe(batches[0]); err != nil { // so that the error counts from 1
					t.Fatal(err)
				}
				err = s.ObserveBatches(group[1:])
				var be *BatchError
				if refErr == nil || err == nil || !errors.As(err, &be) || be.Batch != 2 || err.Error() != refErr.Error() ||
					(tc.want != nil && !errors.Is(err, tc.want)) {
					t.Errorf("%s, %s, %v: ObserveBatches err %v, Observe in turn %v; want batch 2's", c.name, tc.name, method, err, refErr)
					continue
				}
				// Both go on with the rest, each its own way.
				for _, x := range batches[3:] {
					if err := ref.Observe(x); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.ObserveBatches(batches[3:]); err != nil {
					t.Fatal(err)
				}
				want, err := ref.Result()
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Result()
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s, %s, %v: the stream after the error differs from Observe's", c.name, tc.name, method)
				}
			}
		}
	}
}
