package chanprune

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

// A call made while another holds the Evaluator is refused at once and
// changes nothing.
func TestBusyEvaluatorRefusesCalls(t *testing.T) {
	r := newRand(41)
	l := randLayer(r, 24, 40, true)
	batches := randBatches(r, 24, 5, 3)
	sets := []ScoreSet{{Name: "a", Scores: randScores(r, 24)}}
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.NewStream(sets, []float64{0.5})
	if err != nil {
		t.Fatal(err)
	}
	e.busy.Store(true) // as if another goroutine's call were running
	calls := []struct {
		name string
		call func() error
	}{
		{"Evaluate", func() error { _, err := e.Evaluate(batches, sets[0].Scores, 0.5); return err }},
		{"Sweep", func() error { _, err := e.Sweep(batches, sets, []float64{0.5}); return err }},
		{"Observe", func() error { return s.Observe(batches[0]) }},
		{"Result", func() error { _, err := s.Result(); return err }},
		// Ordering the score sets writes the Evaluator's group scratch.
		{"NewStream", func() error { _, err := e.NewStream(sets, []float64{0.5}); return err }},
		{"NewRepairedStream", func() error { _, err := e.NewRepairedStream(sets, []float64{0.5}, Repair{}); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, ErrBusy) {
			t.Errorf("%s on a busy Evaluator: got %v, want ErrBusy", c.name, err)
		}
	}
	e.busy.Store(false)
	if _, err := s.Result(); !errors.Is(err, ErrEmpty) {
		t.Errorf("the refused Observe changed the stream: Result gives %v, want no batches observed", err)
	}
	for _, c := range calls { // Observe runs before Result
		if err := c.call(); err != nil {
			t.Errorf("%s after release: %v", c.name, err)
		}
	}
}

// Goroutines sharing one Evaluator get either ErrBusy or exactly the answer
// a lone caller gets: never a panic, never a wrong number. Under -race this
// also shows the refused calls touch no shared scratch.
func TestSharedEvaluatorNeverWrong(t *testing.T) {
	r := newRand(42)
	l := randLayer(r, 64, 128, true)
	batches := randBatches(r, 64, 16, 9, 16)
	scores := randScores(r, 64)
	e, err := NewEvaluator(l, WithMethod(Direct))
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.Evaluate(batches, scores, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				m, err := e.Evaluate(batches, scores, 0.3)
				switch {
				case errors.Is(err, ErrBusy):
				case err != nil:
					t.Errorf("goroutine %d: %v", g, err)
					return
				case m.RMSE != want.RMSE || m.CosineSimilarity != want.CosineSimilarity ||
					!slices.Equal(m.PerBatch, want.PerBatch):
					t.Errorf("goroutine %d: rmse %v cos %v, alone %v %v", g, m.RMSE, m.CosineSimilarity, want.RMSE, want.CosineSimilarity)
					return
				}
			}
		}()
	}
	wg.Wait()
}
