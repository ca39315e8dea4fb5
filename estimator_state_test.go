package chanprune

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// States that decode and pass the shape checks but whose counts or sums
// would give NaN or ±Inf scores, now or after more batches: each is refused
// on load, or its next batch is, and no score is ever NaN.
func TestLoadEstimatorHostileCounts(t *testing.T) {
	r := newRand(31)
	l := randLayer(r, 4, 3, true)
	for o := range l.Out { // channel 2's weight column is zero: 0·Inf is NaN
		l.Weight[o*l.In+2] = 0
	}
	batches := randShaped(r, nil, []int{2, 4}, []int{3, 4})
	maxInt := json.Number(strconv.Itoa(math.MaxInt))
	state := func(m map[string]any) map[string]any { return m["state"].(map[string]any) }
	observed := func(name string) Estimator {
		e := mustEstimator(t, name, l, EstimatorOptions{})
		observeAll(t, e, batches)
		return e
	}
	l2, wf, fl := observed("l2norm"), observed("wanda-sp"), observed("fluctuation")
	vec := func(v float64) []float64 { return []float64{1, 1, v, 1} }

	// Refused on load.
	for _, tc := range []struct{ name, state, mention string }{
		{"sum beyond any run", stateWith(t, l2, func(m map[string]any) { state(m)["sum"] = vec(1e300) }), "sum[2] = 1e+300 is out of range"},
		{"m2 beyond any run", stateWith(t, fl, func(m map[string]any) { state(m)["m2"] = vec(1e300) }), "m2[2]"},
		{"mean beyond any float32", stateWith(t, fl, func(m map[string]any) { state(m)["mean"] = vec(-1e39) }), "mean[2]"},
		{"sum giving an Inf score", stateWith(t, l2, func(m map[string]any) { state(m)["sum"] = vec(1e90) }), "channel 2 a non-finite score"},
	} {
		_, err := LoadEstimator(strings.NewReader(tc.state), l)
		if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: got %v, want ErrState mentioning %q", tc.name, err, tc.mention)
		}
	}

	// Loaded (a count at the limit is a count), but the next batch would
	// wrap it: refused, and the estimator left as it was.
	for _, tc := range []struct {
		name, state, mention string
	}{
		{"wanda-sp tokens", stateWith(t, wf, func(m map[string]any) { state(m)["tokens"] = maxInt }), "overflow the token count"},
		{"fluctuation tokens", stateWith(t, fl, func(m map[string]any) { state(m)["tokens"] = maxInt }), "overflow the token count"},
		{"batches", stateWith(t, l2, func(m map[string]any) { m["batches"] = maxInt }), "batch count would overflow"},
	} {
		e, err := LoadEstimator(strings.NewReader(tc.state), l)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		before := mustScores(t, e)
		err = e.Observe(batches[0].x, batches[0].shape)
		if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: next batch: got %v, want ErrState mentioning %q", tc.name, err, tc.mention)
		}
		after := mustScores(t, e)
		for c, s := range after {
			if math.IsNaN(float64(s)) || s != before[c] {
				t.Errorf("%s: score %d was %v, is %v after the refused batch", tc.name, c, before[c], s)
			}
		}
	}
}
