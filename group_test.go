package chanprune

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestGroupsOfOneAreChannels checks that WithGroups(1, any reduction) is
// channel pruning bit for bit, through Evaluate, Sweep and CompactByScores.
func TestGroupsOfOneAreChannels(t *testing.T) {
	r := newRand(61)
	layer := randLayer(r, 24, 40, true)
	batches := randBatches(r, 24, 7, 30)
	scores := randScores(r, 24)
	scores[3], scores[9] = scores[5], scores[5] // a tie at some cuts
	sets := []ScoreSet{{"a", scores}, {"b", randScores(r, 24)}}
	ratios := []float64{0.5, 0, 0.3, 1, 0.125}
	for _, method := range []Method{Direct, Gram} {
		plain, err := NewEvaluator(layer, WithMethod(method))
		if err != nil {
			t.Fatal(err)
		}
		want, err := plain.Sweep(batches, sets, ratios)
		if err != nil {
			t.Fatal(err)
		}
		wantM, err := plain.Evaluate(batches, scores, 0.3)
		if err != nil {
			t.Fatal(err)
		}
		for _, reduce := range []GroupReduce{ReduceMean, ReduceSum, ReduceMax} {
			e, err := NewEvaluator(layer, WithMethod(method), WithGroups(1, reduce))
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Sweep(batches, sets, ratios)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%v, %v: Sweep with groups of one differs from the channel Sweep", method, reduce)
			}
			m, err := e.Evaluate(batches, scores, 0.3)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, wantM) || m.NumPrunedGroups != m.NumPruned {
				t.Errorf("%v, %v: Evaluate with groups of one: %+v, want %+v", method, reduce, m, wantM)
			}
		}
	}
	for _, ratio := range ratios {
		want, err := CompactByScores(layer, scores, ratio)
		if err != nil {
			t.Fatal(err)
		}
		got, err := CompactByScores(layer, scores, ratio, WithGroups(1, ReduceMax))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Kept(), want.Kept()) {
			t.Errorf("ratio %v: groups of one keep %v, channels %v", ratio, got.Kept(), want.Kept())
		}
	}
}

// TestGroupsAreTheirChannels checks that pruning groups equals pruning the
// union of their channels: channel scores that repeat each group's score
// prune the same channels at ratios that cut between groups, so every
// metric is bitwise the same, on both paths and in a Sweep.
func TestGroupsAreTheirChannels(t *testing.T) {
	const size, groups = 4, 8
	in := size * groups
	r := newRand(62)
	layer := randLayer(r, in, 48, false)
	batches := randBatches(r, in, 9, 21)
	perGroup := randScores(r, groups)
	perChannel := make([]float32, in)
	for c := range perChannel {
		perChannel[c] = perGroup[c/size]
	}
	ratios := []float64{0.25, 0, 0.625, 1, 0.125}
	for _, method := range []Method{Direct, Gram} {
		plain, err := NewEvaluator(layer, WithMethod(method))
		if err != nil {
			t.Fatal(err)
		}
		want, err := plain.Sweep(batches, []ScoreSet{{"s", perChannel}}, ratios)
		if err != nil {
			t.Fatal(err)
		}
		wantM, err := plain.Evaluate(batches, perChannel, 0.625)
		if err != nil {
			t.Fatal(err)
		}
		grouped, err := NewEvaluator(layer, WithMethod(method), WithGroups(size, ReduceMean))
		if err != nil {
			t.Fatal(err)
		}
		for _, scores := range [][]float32{perGroup, perChannel} {
			got, err := grouped.Sweep(batches, []ScoreSet{{"s", scores}}, ratios)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range got {
				if p.NumPrunedGroups*size != p.NumPruned {
					t.Errorf("%v: ratio %v: %d groups pruned, %d channels", method, p.Ratio, p.NumPrunedGroups, p.NumPruned)
				}
				p.NumPrunedGroups, p.GroupSize = want[i].NumPrunedGroups, want[i].GroupSize
				if !reflect.DeepEqual(p, want[i]) {
					t.Errorf("%v, %d scores, ratio %v: grouped %+v, channels %+v", method, len(scores), p.Ratio, p.Metrics, want[i].Metrics)
				}
			}
			m, err := grouped.Evaluate(batches, scores, 0.625)
			if err != nil {
				t.Fatal(err)
			}
			m.NumPrunedGroups, m.GroupSize = wantM.NumPrunedGroups, wantM.GroupSize
			if !reflect.DeepEqual(m, wantM) {
				t.Errorf("%v, %d scores: Evaluate grouped %+v, channels %+v", method, len(scores), m, wantM)
			}
		}
	}
}

// TestGroupReduce checks that each reduction picks its own groups, that
// equal group scores prune the lower group first and that the tie is
// counted in channels.
func TestGroupReduce(t *testing.T) {
	layer := randLayer(newRand(63), 6, 3, true)
	scores := []float32{0, 6, 4, 4, 9, 9} // groups of two: mean 3, 4, 9; sum 6, 8, 18; max 6, 4, 9
	for _, tc := range []struct {
		reduce GroupReduce
		keep   []int
	}{
		{ReduceMean, []int{2, 3, 4, 5}},
		{ReduceSum, []int{2, 3, 4, 5}},
		{ReduceMax, []int{0, 1, 4, 5}},
	} {
		l, err := CompactByScores(layer, scores, 0.34, WithGroups(2, tc.reduce))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(l.Kept(), tc.keep) {
			t.Errorf("%v: kept %v, want %v", tc.reduce, l.Kept(), tc.keep)
		}
	}
	e, err := NewEvaluator(layer, WithGroups(2, ReduceMean))
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Evaluate(randBatches(newRand(64), 6, 5), []float32{2, 7, 2}, 0.34)
	if err != nil {
		t.Fatal(err)
	}
	if m.NumPrunedGroups != 1 || m.NumPruned != 2 || m.GroupSize != 2 || m.Tie != (Tie{Score: 2, Pruned: 2, Kept: 2}) {
		t.Errorf("tied groups: %d groups of %d, %d channels, tie %+v; want 1 of 2, 2 and {2 2 2}", m.NumPrunedGroups, m.GroupSize, m.NumPruned, m.Tie)
	}
	l, err := CompactByScores(layer, []float32{2, 7, 2}, 0.34, WithGroups(2, ReduceMean))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{2, 3, 4, 5}; !slices.Equal(l.Kept(), want) || l.Tie() != m.Tie {
		t.Errorf("tied groups: kept %v, tie %+v; want %v (the lower group pruned) and %+v", l.Kept(), l.Tie(), want, m.Tie)
	}
}

// TestGroupErrors checks that bad group sizes, reductions, score lengths
// and group-splitting keeps are refused with one line naming them.
func TestGroupErrors(t *testing.T) {
	layer := randLayer(newRand(65), 16, 4, true)
	batches := randBatches(newRand(66), 16, 3)
	inf := float32(math.Inf(1))
	mixed := make([]float32, 16)
	mixed[4], mixed[5] = inf, -inf
	for _, tc := range []struct {
		name string
		call func() error
		want error
		says string
	}{
		{"size 0", func() error { _, err := NewEvaluator(layer, WithGroups(0, ReduceMean)); return err }, ErrShape, "WithGroups(0)"},
		{"size -4", func() error { _, err := NewEvaluator(layer, WithGroups(-4, ReduceMean)); return err }, ErrShape, "WithGroups(-4)"},
		{"size 5", func() error { _, err := NewEvaluator(layer, WithGroups(5, ReduceMean)); return err }, ErrShape, "16 input channels"},
		{"size 32", func() error { _, err := NewLayer(layer, WithGroups(32, ReduceMean)); return err }, ErrShape, "WithGroups(32)"},
		{"reduce", func() error { _, err := NewEvaluator(layer, WithGroups(4, GroupReduce(9))); return err }, ErrOption, "GroupReduce(9)"},
		{"scores", func() error {
			e, err := NewEvaluator(layer, WithGroups(4, ReduceSum))
			if err == nil {
				_, err = e.Evaluate(batches, make([]float32, 3), 0.5)
			}
			return err
		}, ErrShape, "3 values, want 16 (one per input channel) or 4 (one per group of 4 channels)"},
		{"stream scores", func() error {
			e, err := NewEvaluator(layer, WithGroups(8, ReduceSum))
			if err == nil {
				_, err = e.NewStream([]ScoreSet{{"ok", make([]float32, 2)}, {"bad", make([]float32, 8)}}, []float64{0.5})
			}
			return err
		}, ErrShape, `score set "bad": scores: 8 values`},
		{"NaN group", func() error {
			_, err := CompactByScores(layer, mixed, 0.5, WithGroups(4, ReduceMean))
			return err
		}, ErrNaNScore, "group 1 mixes +Inf and -Inf"},
		{"split keep", func() error { _, err := Compact(layer, []int{0, 1, 2, 3, 4, 5}, WithGroups(4, ReduceMax)); return err }, ErrShape, "keep[4] = 4"},
	} {
		err := tc.call()
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line with %q wrapping %v", tc.name, err, tc.says, tc.want)
		}
	}
	if _, err := CompactByScores(layer, mixed, 0.5, WithGroups(4, ReduceMax)); err != nil {
		t.Errorf("max of +Inf and -Inf: %v", err)
	}
}

// TestSweepEqualCuts checks that ratios cutting at the same group, whose
// points share their direct sums, each get the metrics Evaluate gives them,
// on the direct path and when the Gram path redoes them directly.
func TestSweepEqualCuts(t *testing.T) {
	r := newRand(67)
	layer := randLayer(r, 32, 32, true)
	batches := randBatches(r, 32, 6, 11)
	scores := randScores(r, 32)
	ratios := []float64{0.3, 0.05, 0.26, 0.1, 0.9, 0.76} // groups of 8: 1, 0, 1, 0, 3, 3
	for _, method := range []Method{Direct, Auto} {
		e, err := NewEvaluator(layer, WithMethod(method), WithGroups(8, ReduceMax))
		if err != nil {
			t.Fatal(err)
		}
		points, err := e.Sweep(batches, []ScoreSet{{"s", scores}}, ratios)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewEvaluator(layer, WithMethod(Direct), WithGroups(8, ReduceMax))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range points {
			m, err := d.Evaluate(batches, scores, p.Ratio)
			if err != nil {
				t.Fatal(err)
			}
			if p.Method == Direct && !reflect.DeepEqual(p.Metrics, m) {
				t.Errorf("%v: ratio %v: Sweep %+v, Evaluate %+v", method, p.Ratio, p.Metrics, m)
			}
		}
	}
}
