package chanprune

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// refSchedule is Model-Optimizer's get_pruning_schedule, loop for loop.
func refSchedule(channels, iterations int) []int {
	s := make([]int, iterations)
	if channels >= iterations {
		q, r := channels/iterations, channels%iterations
		for i := range s {
			s[i] = q
			if i < r {
				s[i]++
			}
		}
		return s
	}
	for j := 1; j <= channels; j++ {
		s[j*iterations/channels-1] = 1
	}
	return s
}

// schedule lists what each iteration prunes, from scheduledPrunes.
func schedule(channels, iterations int) []int {
	s := make([]int, iterations)
	for i := range s {
		s[i] = scheduledPrunes(channels, iterations, i+1) - scheduledPrunes(channels, iterations, i)
	}
	return s
}

func TestScheduledPrunes(t *testing.T) {
	for _, tc := range []struct {
		channels, iterations int
		want                 []int
	}{
		{10, 4, []int{3, 3, 2, 2}},                   // C > n: the remainder goes first
		{8, 4, []int{2, 2, 2, 2}},                    // C a multiple of n
		{5, 5, []int{1, 1, 1, 1, 1}},                 // C = n
		{4, 10, []int{0, 1, 0, 0, 1, 0, 1, 0, 0, 1}}, // C < n: at ⌊j·10/4⌋ − 1 = 1, 4, 6, 9
		{2, 3, []int{1, 0, 1}},                       // at ⌊3/2⌋ − 1 = 0 and ⌊6/2⌋ − 1 = 2
		{1, 3, []int{0, 0, 1}},                       // one channel, in the last iteration
		{1, 1, []int{1}},                             // n = 1
		{7, 1, []int{7}},                             // n = 1: everything at once
	} {
		if got := schedule(tc.channels, tc.iterations); !slices.Equal(got, tc.want) {
			t.Errorf("C=%d, n=%d: got %v, want %v", tc.channels, tc.iterations, got, tc.want)
		}
	}
	for c := 1; c <= 40; c++ {
		for n := 1; n <= 40; n++ {
			if got, want := schedule(c, n), refSchedule(c, n); !slices.Equal(got, want) {
				t.Fatalf("C=%d, n=%d: got %v, want %v", c, n, got, want)
			}
		}
	}
	// The largest counts the options allow do not overflow.
	if got := scheduledPrunes(maxIterativeChannels, math.MaxInt32, math.MaxInt32); got != maxIterativeChannels {
		t.Errorf("all of 2^24 channels over 2^31−1 iterations: %d pruned", got)
	}
}

func iterativeOf(e Estimator) *iterative { return e.(*estimator).scorer.(*iterative) }

// By hand, with W = I (2×2) and no bias, so y = y_P + x_P and, with no
// calibration, s_t = x_t with its unpruned channels zeroed. Two channels
// over four iterations prune at iterations 1 and 3.
//
//	batch 0, x = (1, 10): s = 0, contributions (1, 10) (each sqrt(x² + 1e-8))
//	batch 1, x = (8, 1):  contributions (8, 1); accumulated (9, 11): prune 0
//	                      (batch 1 alone would have pruned 1)
//	batch 2, x = (3, 4):  s = (3, 0), contribution of 1: sqrt(9 + 16) = 5
//	batch 3:              prune 1
func TestIterativeByHand(t *testing.T) {
	l := Linear{In: 2, Out: 2, Weight: []float32{1, 0, 0, 1}}
	e := mustEstimator(t, "iterative", l, EstimatorOptions{Iterations: 4})
	it := iterativeOf(e)
	contrib := func(v float64) float64 { return math.Sqrt(v + 1e-8) }
	steps := []struct {
		x      []float32
		acc    []float64
		pruned []int32
		scores []float32
	}{
		{[]float32{1, 10}, []float64{contrib(1), contrib(100)}, nil, []float32{0, 1}},
		{[]float32{8, 1}, []float64{0, 0}, []int32{0}, []float32{0, 1}},
		{[]float32{3, 4}, []float64{0, contrib(25)}, []int32{0}, []float32{0, 1}},
		{[]float32{1, 1}, []float64{0, 0}, []int32{0, 1}, []float32{0, 1}},
	}
	for i, st := range steps {
		observeAll(t, e, []shaped{{st.x, []int{1, 2}}})
		for c, want := range st.acc {
			if !within(it.Accumulator[c]-want, 1e-6*want) {
				t.Errorf("after batch %d: accumulator %v, want %v", i, it.Accumulator, st.acc)
			}
		}
		if !slices.Equal(it.Pruned, st.pruned) || !slices.Equal(mustScores(t, e), st.scores) {
			t.Errorf("after batch %d: pruned %v, scores %v; want %v, %v", i, it.Pruned, mustScores(t, e), st.pruned, st.scores)
		}
	}
	if err := e.Observe([]float32{1, 1}, []int{1, 2}); !errors.Is(err, ErrEstimator) || !strings.Contains(err.Error(), "batch 4 is beyond the 4 iterations") {
		t.Errorf("a fifth batch: got %v, want ErrEstimator", err)
	}
}

// By hand with a bias and scale-by-magnitude: W = I, b = (1, 0), one token
// x = (3, 4). Then y = (4, 4), y_P = (3, 4), α = 5 / (√32 + 1e-8) and
// s = α·y − y_P = (4α − 3, 4α − 4); dropping channel 0 adds x_0·W[:,0] =
// (3, 0), channel 1 adds (0, 4):
//
//	contrib_0 = ‖(4α, 4α − 4)‖,  contrib_1 = ‖(4α − 3, 4α)‖.
//
// Model-Optimizer's spelling, scale_by_magnitude, is the same option.
func TestIterativeScaleByMagnitudeByHand(t *testing.T) {
	l := Linear{In: 2, Out: 2, Weight: []float32{1, 0, 0, 1}, Bias: []float32{1, 0}}
	a := 5 / (math.Sqrt(32) + 1e-8)
	want := []float64{math.Hypot(4*a, 4*a-4), math.Hypot(4*a-3, 4*a)}
	for _, spelling := range []string{"scale-by-magnitude", "scale_by_magnitude"} {
		e := mustEstimator(t, "iterative", l, EstimatorOptions{Iterations: 4, Calibration: spelling})
		observeAll(t, e, []shaped{{[]float32{3, 4}, []int{1, 1, 2}}})
		got := iterativeOf(e).Accumulator
		for c := range want {
			if !within(got[c]-want[c], 1e-6*want[c]) {
				t.Errorf("%s: accumulator %v, want %v", spelling, got, want)
			}
		}
	}
}

// refIterative runs the iterative estimator's definition in float64, the
// accumulator holding +Inf on P as Model-Optimizer's does, and returns
// the pruning order.
func refIterative(l Linear, batches []shaped, scaleByMagnitude bool) []int32 {
	in, out := l.In, l.Out
	sched := refSchedule(in, len(batches))
	var pruned []int32
	isPruned := make([]bool, in)
	acc := make([]float64, in)
	w := func(o, c int) float64 { return float64(l.Weight[o*in+c]) }
	for i, b := range batches {
		tokens := len(b.x) / in
		mean := make([]float64, in)
		for t := range tokens {
			x := b.x[t*in : (t+1)*in]
			y, yP := make([]float64, out), make([]float64, out)
			var yy, pp float64
			for o := range out {
				if len(l.Bias) > 0 {
					y[o] = float64(l.Bias[o])
				}
				for c, v := range x {
					y[o] += float64(v) * w(o, c)
					if !isPruned[c] {
						yP[o] += float64(v) * w(o, c)
					}
				}
				yy += y[o] * y[o]
				pp += yP[o] * yP[o]
			}
			alpha := 1.0
			if scaleByMagnitude {
				alpha = math.Sqrt(pp) / (math.Sqrt(yy) + 1e-8)
			}
			s, ss := make([]float64, out), 0.0
			for o := range out {
				s[o] = alpha*y[o] - yP[o]
				ss += s[o] * s[o]
			}
			for c, v := range x {
				var sw, ww float64
				for o := range out {
					sw += s[o] * w(o, c)
					ww += w(o, c) * w(o, c)
				}
				mean[c] += math.Sqrt(ss + 2*float64(v)*sw + float64(v)*float64(v)*ww + 1e-8)
			}
		}
		for c := range acc {
			if isPruned[c] {
				acc[c] = math.Inf(1)
			} else {
				acc[c] += mean[c] / float64(tokens)
			}
		}
		if m := sched[i]; m > 0 {
			order := allChannels(make([]int32, in))
			slices.SortStableFunc(order, func(a, b int32) int { return compareFloat(acc[a], acc[b]) })
			for _, c := range order[:m] {
				pruned = append(pruned, c)
				isPruned[c] = true
			}
			clear(acc)
		}
	}
	return pruned
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The SIMD products give the pruning order of the float64 definition on
// random layers, with and without bias and calibration, for C < n, C = n
// and C > n.
func TestIterativeMatchesReference(t *testing.T) {
	r := newRand(41)
	for _, tc := range []struct {
		in, out, batches int
		bias             bool
		calibration      string
	}{
		{13, 9, 4, true, ""},
		{13, 9, 4, true, "scale-by-magnitude"},
		{5, 17, 12, false, ""},
		{5, 17, 12, true, "scale-by-magnitude"},
		{8, 40, 8, true, ""},
		{40, 8, 1, true, "scale-by-magnitude"},
	} {
		l := randLayer(r, tc.in, tc.out, tc.bias)
		var batches []shaped
		for i := range tc.batches {
			shape := []int{5, tc.in}
			if i%2 == 0 {
				shape = []int{1 + i%3, 2, tc.in}
			}
			batches = append(batches, randShaped(r, nil, shape)...)
		}
		e := mustEstimator(t, "iterative", l, EstimatorOptions{Iterations: tc.batches, Calibration: tc.calibration})
		observeAll(t, e, batches)
		want := refIterative(l, batches, tc.calibration != "")
		if got := iterativeOf(e).Pruned; !slices.Equal(got, want) {
			t.Errorf("%+v: pruning order %v, want %v", tc, got, want)
		}
		scores := mustScores(t, e)
		for pos, c := range want {
			if scores[c] != float32(pos) {
				t.Errorf("%+v: channel %d scores %v, want its position %d", tc, c, scores[c], pos)
			}
		}
	}
}

// A layer output that overflows float32 is an error, and the estimator
// stays as it was.
func TestIterativeOverflow(t *testing.T) {
	l := Linear{In: 2, Out: 2, Weight: []float32{3e38, 3e38, 0, 1}}
	e := mustEstimator(t, "iterative", l, EstimatorOptions{Iterations: 3})
	observeAll(t, e, []shaped{{[]float32{1e-30, 1}, []int{1, 2}}})
	var before, after bytes.Buffer
	e.Save(&before)
	err := e.Observe([]float32{2, 2}, []int{1, 2})
	var be *BatchError
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "overflows") || !errors.As(err, &be) || be.Batch != 1 {
		t.Errorf("got %v, want ErrNonFinite for batch 1", err)
	}
	e.Save(&after)
	if before.String() != after.String() {
		t.Error("the failed batch changed the state")
	}
}
