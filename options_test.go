package chanprune

import (
	"errors"
	"testing"
)

// TestLayerRefusesWithMethod checks that the constructors of a Layer, which
// has no evaluation method, refuse WithMethod instead of ignoring it, and
// still take the options that apply.
func TestLayerRefusesWithMethod(t *testing.T) {
	l := Linear{Weight: []float32{1, 2, 3, 4, 5, 6}, In: 3, Out: 2}
	for _, m := range []Method{Auto, Direct, Gram} {
		if _, err := NewLayer(l, WithMethod(m)); !errors.Is(err, ErrOption) {
			t.Errorf("NewLayer(WithMethod(%v)): err %v, want ErrOption", m, err)
		}
		if _, err := Compact(l, []int{0, 2}, WithWorkers(1), WithMethod(m)); !errors.Is(err, ErrOption) {
			t.Errorf("Compact(WithMethod(%v)): err %v, want ErrOption", m, err)
		}
		if _, err := CompactByScores(l, []float32{1, 2, 3}, 0.3, WithMethod(m)); !errors.Is(err, ErrOption) {
			t.Errorf("CompactByScores(WithMethod(%v)): err %v, want ErrOption", m, err)
		}
		if _, err := NewEvaluator(l, WithMethod(m)); err != nil {
			t.Errorf("NewEvaluator(WithMethod(%v)): %v", m, err)
		}
	}
	if _, err := NewLayer(l, WithWorkers(2), WithKernel("generic")); err != nil {
		t.Errorf("NewLayer(WithWorkers, WithKernel): %v", err)
	}
}

// TestSparePerBatch checks that a point appended to a reused dst gets the
// PerBatch memory of the point it overwrites, emptied, and that a dst
// without room gives none.
func TestSparePerBatch(t *testing.T) {
	old := make([]BatchMetrics, 3, 8)
	dst := []Point{{Set: "a"}, {Set: "b", Metrics: Metrics{PerBatch: old}}}
	got := sparePerBatch(dst[:1])
	if len(got) != 0 || cap(got) != cap(old) || &got[:1][0] != &old[0] {
		t.Fatalf("sparePerBatch of a reused dst: len %d cap %d, want old's memory emptied (cap %d)", len(got), cap(got), cap(old))
	}
	if got := sparePerBatch(dst); got != nil {
		t.Fatalf("sparePerBatch of a full dst = %v, want nil", got)
	}
	if got := sparePerBatch(dst[:0:0]); got != nil {
		t.Fatalf("sparePerBatch of an empty dst = %v, want nil", got)
	}
}
