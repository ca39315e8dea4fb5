package chanprune

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// States that decode and pass the shape checks but whose counts or sums
// no run reaches, and that would give NaN scores after more batches (a
// wrapped token count, a sum gone to Inf times a zero weight column): each
// is refused on load, or its next batch is, and no score is ever NaN.
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

	// Refused on load: a sum past what any run reaches, which a few more
	// batches could take to Inf.
	for _, tc := range []struct{ name, state, mention string }{
		{"sum beyond any run", stateWith(t, l2, func(m map[string]any) { state(m)["sum"] = vec(1e300) }), "sum[2] = 1e+300 is out of range"},
		{"m2 beyond any run", stateWith(t, fl, func(m map[string]any) { state(m)["m2"] = vec(math.MaxFloat64) }), "m2[2]"},
		{"mean beyond any float32", stateWith(t, fl, func(m map[string]any) { state(m)["mean"] = vec(-1e300) }), "mean[2]"},
	} {
		_, err := LoadEstimator(strings.NewReader(tc.state), l)
		if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: got %v, want ErrState mentioning %q", tc.name, err, tc.mention)
		}
	}

	// Sums at the bound load, and stay finite: the zero column scores 0.
	for _, tc := range []struct {
		e     Estimator
		field string
	}{{fl, "m2"}, {wf, "sum_sq"}, {l2, "sum"}} {
		e, err := LoadEstimator(strings.NewReader(stateWith(t, tc.e, func(m map[string]any) { state(m)[tc.field] = vec(maxStateSum) })), l)
		if err != nil {
			t.Fatalf("%s at the bound: %v", tc.field, err)
		}
		observeAll(t, e, batches)
		if s := mustScores(t, e); math.IsNaN(float64(s[2])) {
			t.Errorf("%s at the bound, then more batches: scores %v", tc.field, s)
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

// A run on activations near the float32 limit gives Inf scores, which are
// scores; its saved state resumes to the same ones.
func TestResumeExtremeActivations(t *testing.T) {
	r := newRand(32)
	l := randLayer(r, 4, 3, false)
	batches := randShaped(r, []float64{3e38}, []int{2, 4}, []int{3, 4}, []int{2, 4})
	for i := range batches {
		for j, v := range batches[i].x {
			batches[i].x[j] = float32(math.Copysign(math.MaxFloat32, float64(v)))
		}
	}
	for _, name := range []string{"l2norm", "wanda-sp", "fluctuation", "channel-contribution"} {
		whole := mustEstimator(t, name, l, EstimatorOptions{})
		observeAll(t, whole, batches)
		part := mustEstimator(t, name, l, EstimatorOptions{})
		observeAll(t, part, batches[:2])
		resumed, err := LoadEstimator(strings.NewReader(stateWith(t, part, func(map[string]any) {})), l)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		observeAll(t, resumed, batches[2:])
		if a, b := mustScores(t, whole), mustScores(t, resumed); !slices.Equal(a, b) || slices.ContainsFunc(a, func(v float32) bool { return math.IsNaN(float64(v)) }) {
			t.Errorf("%s: resumed %v, whole %v", name, b, a)
		}
	}
}
