package chanprune

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// swapLeading returns a [d0, d1, in] batch as [d1, d0, in].
func swapLeading(b shaped) shaped {
	d0, d1, in := b.shape[0], b.shape[1], b.shape[2]
	x := make([]float32, len(b.x))
	for i := range d0 {
		for j := range d1 {
			copy(x[(j*d0+i)*in:(j*d0+i+1)*in], b.x[(i*d1+j)*in:(i*d1+j+1)*in])
		}
	}
	return shaped{x, []int{d1, d0, in}}
}

func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// Batch-first batches read with LayoutBatchFirst score bitwise as their
// transposes read sequence-first, the default, for l2norm; and every
// estimator but l2norm gives bitwise the same scores for the same batches
// whichever layout it is told, while l2norm's differ.
func TestEstimatorLayouts(t *testing.T) {
	r := newRand(41)
	l := randLayer(r, 6, 5, true)
	batchFirst := randShaped(r, []float64{1, 3, 0.5, 2, 1, 4}, []int{2, 3, 6}, []int{4, 5, 6}, []int{3, 6}, []int{3, 1, 6})
	seqFirst := make([]shaped, len(batchFirst))
	for i, b := range batchFirst {
		seqFirst[i] = b
		if len(b.shape) == 3 {
			seqFirst[i] = swapLeading(b)
		}
	}
	scores := func(name, layout string, batches []shaped) []float32 {
		opts := estimatorOptions(name, len(batches), l.In)
		opts.Layout = layout
		e := mustEstimator(t, name, l, opts)
		observeAll(t, e, batches)
		return mustScores(t, e)
	}
	for _, name := range EstimatorNames() {
		asBatchFirst := scores(name, LayoutBatchFirst, batchFirst)
		asSeqFirst := scores(name, LayoutSeqFirst, batchFirst)
		if name == "l2norm" {
			if transposed := scores(name, "", seqFirst); !sameBits(asBatchFirst, transposed) {
				t.Errorf("l2norm: batch-first %v, its transpose seq-first %v: want the same bits", asBatchFirst, transposed)
			}
			if sameBits(asBatchFirst, asSeqFirst) {
				t.Errorf("l2norm: the same batches read batch-first and seq-first both score %v: want the layout to matter", asBatchFirst)
			}
			continue
		}
		if !sameBits(asBatchFirst, asSeqFirst) {
			t.Errorf("%s: batch-first %v, seq-first %v: want the same bits, the layout not mattering", name, asBatchFirst, asSeqFirst)
		}
	}
}

// A state records its layout and a resumed run keeps it; a state saved
// before layouts were recorded loads as sequence-first.
func TestEstimatorStateLayout(t *testing.T) {
	r := newRand(42)
	l := randLayer(r, 6, 5, false)
	batches := randShaped(r, nil, []int{2, 3, 6}, []int{4, 5, 6})
	for _, layout := range Layouts() {
		whole := mustEstimator(t, "l2norm", l, EstimatorOptions{Layout: layout})
		observeAll(t, whole, batches)
		first := mustEstimator(t, "l2norm", l, EstimatorOptions{Layout: layout})
		observeAll(t, first, batches[:1])
		var state bytes.Buffer
		if err := first.Save(&state); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(state.String(), `"layout":"`+layout+`"`) {
			t.Fatalf("%s: the state does not record the layout: %s", layout, state.String())
		}
		resumed, err := LoadEstimator(&state, l)
		if err != nil {
			t.Fatal(err)
		}
		if got := resumed.Options().Layout; got != layout {
			t.Errorf("resumed %s state: Options().Layout = %q", layout, got)
		}
		observeAll(t, resumed, batches[1:])
		if got, want := mustScores(t, resumed), mustScores(t, whole); !sameBits(got, want) {
			t.Errorf("%s resumed: scores %v, want %v", layout, got, want)
		}
	}

	old := mustEstimator(t, "l2norm", l, EstimatorOptions{})
	observeAll(t, old, batches[:1])
	state := stateWith(t, old, func(m map[string]any) { delete(m["options"].(map[string]any), "layout") })
	if strings.Contains(state, "layout") {
		t.Fatalf("the old state still names a layout: %s", state)
	}
	e, err := LoadEstimator(strings.NewReader(state), l)
	if err != nil {
		t.Fatalf("a state without a layout: %v", err)
	}
	if got := e.Options().Layout; got != LayoutSeqFirst {
		t.Errorf("a state without a layout: Options().Layout = %q, want %q", got, LayoutSeqFirst)
	}
	if got, want := mustScores(t, e), mustScores(t, old); !sameBits(got, want) {
		t.Errorf("a state without a layout: scores %v, want %v", got, want)
	}

	bad := stateWith(t, old, func(m map[string]any) { m["options"].(map[string]any)["layout"] = "sbh" })
	if _, err := LoadEstimator(strings.NewReader(bad), l); !errors.Is(err, ErrEstimator) || !strings.Contains(err.Error(), `"sbh"`) {
		t.Errorf("a state with layout sbh: got %v, want ErrEstimator naming it", err)
	}
}
