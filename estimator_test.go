package chanprune

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// shaped is an activation batch with its shape.
type shaped struct {
	x     []float32
	shape []int
}

// randShaped returns one normal batch per shape, channel c scaled by
// scale[c] when scale is given.
func randShaped(r *rand.Rand, scale []float64, shapes ...[]int) []shaped {
	out := make([]shaped, len(shapes))
	for i, sh := range shapes {
		n := 1
		for _, d := range sh {
			n *= d
		}
		x := make([]float32, n)
		for j := range x {
			v := r.NormFloat64()
			if scale != nil {
				v *= scale[j%len(scale)]
			}
			x[j] = float32(v)
		}
		out[i] = shaped{x, sh}
	}
	return out
}

// estimatorOptions gives each estimator the options it takes, for
// iterations batches of in channels: kv-head-contribution gets one head
// per channel, so that every estimator scores the channels.
func estimatorOptions(name string, iterations, in int) EstimatorOptions {
	switch name {
	case "iterative":
		return EstimatorOptions{Iterations: iterations}
	case "random":
		return EstimatorOptions{Seed: 7}
	case "kv-head-contribution":
		return EstimatorOptions{Heads: in, KVHeads: in}
	}
	return EstimatorOptions{}
}

func mustEstimator(t *testing.T, name string, l Linear, opts EstimatorOptions) Estimator {
	t.Helper()
	e, err := NewEstimator(name, l, opts)
	if err != nil {
		t.Fatalf("NewEstimator(%s): %v", name, err)
	}
	return e
}

func observeAll(t *testing.T, e Estimator, batches []shaped) {
	t.Helper()
	for i, b := range batches {
		if err := e.Observe(b.x, b.shape); err != nil {
			t.Fatalf("%s: batch %d: %v", e.Name(), i, err)
		}
	}
}

func mustScores(t *testing.T, e Estimator) []float32 {
	t.Helper()
	s, err := e.Scores()
	if err != nil {
		t.Fatalf("%s: Scores: %v", e.Name(), err)
	}
	return s
}

func closeTo(got float32, want, rel float64) bool {
	return math.Abs(float64(got)-want) <= rel*math.Abs(want)
}

// The hand-computed case: W = [[3, 0], [4, 1]], so the columns are (3, 4)
// and (0, 1): ‖W[:,0]‖ = 5, ‖W[:,1]‖ = 1, mean_o |W| = (3.5, 0.5). One
// batch [seq 2, batch 2, in 2]:
//
//	s=0: b=0 ( 1, -2)  b=1 (3, 0)
//	s=1: b=0 (-3,  2)  b=1 (5, 4)
//
// l2norm: mean_seq |x| is (2, 2) for b=0 and (4, 2) for b=1, so a = (4+16,
// 4+4) = (20, 8). Over the 4 tokens, |x| averages (3, 2), x² (11, 6), x has
// mean (1.5, 1) and population variance (35/4, 20/4). Read as [tokens 4,
// in 2], l2norm is the mean over all 4 tokens squared: (9, 4).
func TestEstimatorsByHand(t *testing.T) {
	l := Linear{In: 2, Out: 2, Weight: []float32{3, 0, 4, 1}}
	x := []float32{1, -2, 3, 0, -3, 2, 5, 4}
	for _, tc := range []struct {
		name  string
		shape []int
		want  [2]float64
	}{
		{"l2norm", []int{2, 2, 2}, [2]float64{math.Sqrt(20), math.Sqrt(8)}},
		{"l2norm", []int{4, 2}, [2]float64{3, 2}},
		{"channel-contribution", []int{2, 2, 2}, [2]float64{5 * 3, 1 * 2}},
		{"wanda-sp", []int{2, 2, 2}, [2]float64{3.5 * math.Sqrt(11), 0.5 * math.Sqrt(6)}},
		{"fluctuation", []int{2, 2, 2}, [2]float64{35.0 / 4 * 25, 20.0 / 4 * 1}},
		{"fluctuation", []int{4, 2}, [2]float64{35.0 / 4 * 25, 20.0 / 4 * 1}},
		{"magnitude", []int{2, 2, 2}, [2]float64{5, 1}},
	} {
		e := mustEstimator(t, tc.name, l, EstimatorOptions{})
		observeAll(t, e, []shaped{{x, tc.shape}})
		got := mustScores(t, e)
		if !closeTo(got[0], tc.want[0], 1e-7) || !closeTo(got[1], tc.want[1], 1e-7) {
			t.Errorf("%s %v: got %v, want %v", tc.name, tc.shape, got, tc.want)
		}
	}
}

// channel-contribution sums the per-batch means, so batches of different
// sizes do not weigh by their tokens: its formula, in float64.
func TestChannelContributionFormula(t *testing.T) {
	r := newRand(21)
	l := randLayer(r, 9, 5, false)
	batches := randShaped(r, nil, []int{3, 2, 9}, []int{7, 9}, []int{1, 1, 9})
	e := mustEstimator(t, "channel-contribution", l, EstimatorOptions{})
	observeAll(t, e, batches)
	got := mustScores(t, e)
	for c := range l.In {
		var norm, means float64
		for o := range l.Out {
			norm += float64(l.Weight[o*l.In+c]) * float64(l.Weight[o*l.In+c])
		}
		for _, b := range batches {
			tokens, sum := len(b.x)/l.In, 0.0
			for tk := range tokens {
				sum += math.Abs(float64(b.x[tk*l.In+c]))
			}
			means += sum / float64(tokens)
		}
		if want := math.Sqrt(norm) * means; !closeTo(got[c], want, 1e-6) {
			t.Errorf("channel %d: got %v, want %v", c, got[c], want)
		}
	}
}

// Streaming several batches gives what one batch holding them all gives,
// within float64 rounding, where the definition allows: l2norm when the
// batches join along the batch dimension (its mean runs over seq),
// wanda-sp and fluctuation along the tokens. The activations have a large
// common offset, which a one-pass variance would lose.
func TestStreamingEqualsOneShot(t *testing.T) {
	const in, seq = 6, 4
	r := newRand(22)
	l := randLayer(r, in, 5, true)
	parts := randShaped(r, nil, []int{seq, 3, in}, []int{seq, 1, in}, []int{seq, 5, in})
	for _, p := range parts {
		for i := range p.x {
			p.x[i] += 1000
		}
	}
	// Along the batch dimension: for each s, the rows of every part.
	var joined []float32
	batch := 0
	for s := range seq {
		for _, p := range parts {
			b := p.shape[1]
			joined = append(joined, p.x[s*b*in:(s+1)*b*in]...)
			if s == 0 {
				batch += b
			}
		}
	}
	for _, name := range []string{"l2norm", "wanda-sp", "fluctuation"} {
		stream, oneShot := mustEstimator(t, name, l, EstimatorOptions{}), mustEstimator(t, name, l, EstimatorOptions{})
		observeAll(t, stream, parts)
		observeAll(t, oneShot, []shaped{{joined, []int{seq, batch, in}}})
		a, b := mustScores(t, stream), mustScores(t, oneShot)
		for c := range a {
			if !closeTo(a[c], float64(b[c]), 1e-6) {
				t.Errorf("%s channel %d: streamed %v, one batch %v", name, c, a[c], b[c])
			}
		}
	}
}

// fluctuation's merged variance against a two-pass float64 variance of all
// tokens, in float64 before the scores round to float32.
func TestFluctuationWelford(t *testing.T) {
	r := newRand(23)
	l := randLayer(r, 4, 3, false)
	batches := randShaped(r, []float64{1e-3, 1, 1e3, 7}, []int{5, 4}, []int{1, 4}, []int{2, 3, 4}, []int{9, 4})
	for _, b := range batches {
		for i := range b.x {
			b.x[i] += float32(1e4 * float64(i%4))
		}
	}
	e := mustEstimator(t, "fluctuation", l, EstimatorOptions{})
	observeAll(t, e, batches)
	f := e.(*estimator).scorer.(*fluctuation)
	for c := range 4 {
		var all []float64
		for _, b := range batches {
			for i := c; i < len(b.x); i += 4 {
				all = append(all, float64(b.x[i]))
			}
		}
		var mean, m2 float64
		for _, v := range all {
			mean += v
		}
		mean /= float64(len(all))
		for _, v := range all {
			m2 += (v - mean) * (v - mean)
		}
		if !within(f.Mean[c]-mean, 1e-12*math.Abs(mean)+1e-15) || !within(f.M2[c]-m2, 1e-9*m2) || f.Tokens != len(all) {
			t.Errorf("channel %d: mean %v M2 %v tokens %d, want %v %v %d", c, f.Mean[c], f.M2[c], f.Tokens, mean, m2, len(all))
		}
	}
}

// Saving half-way and resuming from the state gives bitwise the scores and
// the state of a run that was never interrupted, for every estimator.
func TestEstimatorResume(t *testing.T) {
	r := newRand(24)
	l := randLayer(r, 10, 7, true)
	batches := randShaped(r, nil, []int{3, 2, 10}, []int{4, 10}, []int{1, 1, 10}, []int{2, 3, 10}, []int{5, 10}, []int{2, 2, 10})
	for _, name := range EstimatorNames() {
		opts := estimatorOptions(name, len(batches), l.In)
		whole := mustEstimator(t, name, l, opts)
		observeAll(t, whole, batches)
		for cut := range len(batches) + 1 {
			first := mustEstimator(t, name, l, opts)
			observeAll(t, first, batches[:cut])
			var state bytes.Buffer
			if err := first.Save(&state); err != nil {
				t.Fatal(err)
			}
			resumed, err := LoadEstimator(&state, l)
			if err != nil {
				t.Fatalf("%s: LoadEstimator after %d batches: %v", name, cut, err)
			}
			observeAll(t, resumed, batches[cut:])
			want, got := mustScores(t, whole), mustScores(t, resumed)
			for c := range want {
				if math.Float32bits(got[c]) != math.Float32bits(want[c]) {
					t.Fatalf("%s resumed after %d batches: channel %d scores %v, want %v", name, cut, c, got[c], want[c])
				}
			}
			var a, b bytes.Buffer
			if whole.Save(&a) != nil || resumed.Save(&b) != nil || a.String() != b.String() {
				t.Fatalf("%s resumed after %d batches: state\n%s\nwant\n%s", name, cut, b.String(), a.String())
			}
		}
	}
}

// A batch that fails leaves the estimator as it was, and no input is ever
// modified.
func TestEstimatorInputsUntouched(t *testing.T) {
	r := newRand(25)
	l := randLayer(r, 5, 4, true)
	weight, bias := slices.Clone(l.Weight), slices.Clone(l.Bias)
	batches := randShaped(r, nil, []int{2, 3, 5}, []int{4, 5})
	bad := slices.Clone(batches[1].x)
	bad[7] = float32(math.NaN())
	for _, name := range EstimatorNames() {
		e := mustEstimator(t, name, l, estimatorOptions(name, 3, l.In))
		for _, b := range batches {
			x, shape := slices.Clone(b.x), slices.Clone(b.shape)
			if err := e.Observe(x, shape); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(x, b.x) || !slices.Equal(shape, b.shape) {
				t.Errorf("%s modified its batch", name)
			}
		}
		var before, after bytes.Buffer
		e.Save(&before)
		if err := e.Observe(bad, []int{4, 5}); !errors.Is(err, ErrNonFinite) {
			t.Errorf("%s: NaN batch: %v", name, err)
		}
		e.Save(&after)
		if before.String() != after.String() {
			t.Errorf("%s: a failed batch changed the state", name)
		}
	}
	if !slices.Equal(weight, l.Weight) || !slices.Equal(bias, l.Bias) {
		t.Error("the layer was modified")
	}
}

// An estimator reads the layer only in NewEstimator: a caller may reuse the
// weight's and bias's memory (for the next layer) while it still observes.
func TestEstimatorsKeepNoLayerMemory(t *testing.T) {
	r := newRand(27)
	l := randLayer(r, 6, 4, true)
	batches := randShaped(r, nil, []int{3, 2, 6}, []int{5, 6})
	for _, name := range EstimatorNames() {
		opts := estimatorOptions(name, len(batches), l.In)
		scores := make([][]float32, 2)
		for i := range scores {
			own := Linear{Weight: slices.Clone(l.Weight), Bias: slices.Clone(l.Bias), In: l.In, Out: l.Out}
			e := mustEstimator(t, name, own, opts)
			if i == 1 { // the caller's buffers now hold another layer
				copy(own.Weight, uniform(r, len(own.Weight), 1))
				copy(own.Bias, uniform(r, len(own.Bias), 1))
			}
			for _, b := range batches {
				if err := e.Observe(b.x, b.shape); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			if scores[i], err = e.Scores(); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(scores[0], scores[1]) {
			t.Errorf("%s: scores %v after the layer's memory was reused, %v before", name, scores[1], scores[0])
		}
	}
}

func TestEstimatorBadOptions(t *testing.T) {
	l := randLayer(newRand(26), 4, 3, true)
	for _, tc := range []struct {
		name    string
		layer   Linear
		opts    EstimatorOptions
		want    error
		mention string
	}{
		{"l2", l, EstimatorOptions{}, ErrEstimator, `"l2"`},
		{"", l, EstimatorOptions{}, ErrEstimator, "l2norm, channel-contribution, iterative"},
		{"l2norm", l, EstimatorOptions{Calibration: "scale-by-magnitude"}, ErrEstimator, "only iterative"},
		{"wanda-sp", l, EstimatorOptions{Iterations: 4}, ErrEstimator, "only iterative"},
		{"magnitude", l, EstimatorOptions{Seed: 3}, ErrEstimator, "only random"},
		{"l2norm", l, EstimatorOptions{Layout: "bsh"}, ErrEstimator, `Layout "bsh": want seq-first or batch-first`},
		{"iterative", l, EstimatorOptions{Iterations: 2, Calibration: "magnitude"}, ErrEstimator, `"magnitude"`},
		{"iterative", l, EstimatorOptions{}, ErrEstimator, "Iterations 0"},
		{"iterative", l, EstimatorOptions{Iterations: -3}, ErrEstimator, "Iterations -3"},
		{"random", Linear{In: 0, Out: 3}, EstimatorOptions{}, ErrShape, "In=0"},
		{"fluctuation", Linear{In: 2, Out: 1, Weight: []float32{1, float32(math.Inf(1))}}, EstimatorOptions{}, ErrNonFinite, "weight [0, 1]"},
		{"kv-head-contribution", l, EstimatorOptions{}, ErrEstimator, "Heads 0, KVHeads 0"},
		{"kv-head-contribution", l, EstimatorOptions{Heads: 4, KVHeads: 3}, ErrEstimator, "KVHeads dividing Heads"},
		{"kv-head-contribution", l, EstimatorOptions{Heads: 3, KVHeads: 3}, ErrEstimator, "Heads dividing In = 4"},
		{"kv-head-contribution", l, EstimatorOptions{Heads: -4, KVHeads: 2}, ErrEstimator, "Heads -4"},
		{"layernorm-contribution", l, EstimatorOptions{Heads: 4, KVHeads: 2}, ErrEstimator, "only kv-head-contribution takes them"},
		{"l2norm", l, EstimatorOptions{KVHeads: 2}, ErrEstimator, "only kv-head-contribution takes them"},
	} {
		_, err := NewEstimator(tc.name, tc.layer, tc.opts)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("NewEstimator(%q, %+v): got %v, want %v mentioning %q", tc.name, tc.opts, err, tc.want, tc.mention)
		}
	}
}

func TestEstimatorBadBatches(t *testing.T) {
	const in = 3
	l := randLayer(newRand(27), in, 2, false)
	x := make([]float32, 12)
	nan := slices.Clone(x)
	nan[10] = float32(math.NaN())
	inf := slices.Clone(x)
	inf[5] = float32(math.Inf(-1))
	for _, tc := range []struct {
		name    string
		x       []float32
		shape   []int
		want    error
		mention string
	}{
		{"rank 1", x, []int{12}, ErrShape, "[12]"},
		{"rank 4", x, []int{1, 2, 2, in}, ErrShape, "[seq, batch, 3] or [tokens, 3]"},
		{"last dimension", x, []int{3, 4}, ErrShape, "input channels"},
		{"too few values", x[:9], []int{4, in}, ErrShape, "9 values"},
		{"too many values", x, []int{1, 3, in}, ErrShape, "12 values"},
		{"no tokens", nil, []int{0, in}, ErrEmpty, "no values"},
		{"no batch", nil, []int{2, 0, in}, ErrEmpty, "no values"},
		{"negative", x, []int{-4, in}, ErrShape, "not a valid size"},
		{"overflow", x, []int{math.MaxInt / 2, 4, in}, ErrShape, "not a valid size"},
		{"NaN", nan, []int{2, 2, in}, ErrNonFinite, "activation [1, 1, 1] is NaN"},
		{"Inf", inf, []int{4, in}, ErrNonFinite, "activation [1, 2] is -Inf"},
	} {
		for _, name := range EstimatorNames() {
			e := mustEstimator(t, name, l, estimatorOptions(name, 2, l.In))
			observeAll(t, e, []shaped{{make([]float32, 2*in), []int{2, in}}})
			err := e.Observe(tc.x, tc.shape)
			var be *BatchError
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.mention) || !errors.As(err, &be) || be.Batch != 1 ||
				!strings.Contains(err.Error(), name) {
				t.Errorf("%s, %s: got %v, want %v for batch 1 mentioning %q", name, tc.name, err, tc.want, tc.mention)
			}
		}
	}
}

func TestEstimatorScoresNeedBatches(t *testing.T) {
	l := randLayer(newRand(28), 4, 3, true)
	for _, name := range EstimatorNames() {
		s, err := mustEstimator(t, name, l, estimatorOptions(name, 1, l.In)).Scores()
		switch name {
		case "magnitude", "random":
			if err != nil || len(s) != 4 {
				t.Errorf("%s without batches: %v, %v", name, s, err)
			}
		default:
			if !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s without batches: got %v, want ErrEmpty", name, err)
			}
		}
	}
}

func TestRandomEstimator(t *testing.T) {
	l := randLayer(newRand(29), 100, 2, false)
	scores := func(seed uint64) []float32 {
		return mustScores(t, mustEstimator(t, "random", l, EstimatorOptions{Seed: seed}))
	}
	a, b := scores(1), scores(2)
	if !slices.Equal(a, scores(1)) || slices.Equal(a, b) {
		t.Error("random scores do not follow the seed")
	}
	for _, v := range a {
		if !(v >= 0 && v < 1) {
			t.Fatalf("score %v outside [0, 1)", v)
		}
	}
}

// stateWith returns an estimator's saved state with one change made to
// its decoded JSON.
func stateWith(t *testing.T, e Estimator, change func(m map[string]any)) string {
	t.Helper()
	var buf bytes.Buffer
	if err := e.Save(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestLoadEstimatorBadState(t *testing.T) {
	r := newRand(30)
	l := randLayer(r, 4, 3, true)
	other := randLayer(r, 4, 3, true)
	wide := randLayer(r, 5, 3, true)
	batches := randShaped(r, nil, []int{2, 4}, []int{3, 4})
	l2 := mustEstimator(t, "l2norm", l, EstimatorOptions{})
	it := mustEstimator(t, "iterative", l, EstimatorOptions{Iterations: 4})
	wf := mustEstimator(t, "wanda-sp", l, EstimatorOptions{})
	for _, e := range []Estimator{l2, it, wf} {
		observeAll(t, e, batches)
	}
	state := func(m map[string]any) map[string]any { return m["state"].(map[string]any) }
	good := stateWith(t, l2, func(map[string]any) {})
	for _, tc := range []struct {
		name    string
		state   string
		layer   Linear
		want    error
		mention string
	}{
		{"not JSON", "hello", l, ErrState, "estimator state"},
		{"empty", "", l, ErrState, "EOF"},
		{"truncated", good[:len(good)/2], l, ErrState, "estimator state"},
		{"trailing data", good + "{}", l, ErrState, "after the JSON value"},
		{"other layer", good, other, ErrState, "another layer"},
		{"other shape", good, wide, ErrState, "4 → 3 layer, not 5 → 3"},
		{"version", stateWith(t, l2, func(m map[string]any) { m["version"] = 2 }), l, ErrState, "version 2"},
		{"format", stateWith(t, l2, func(m map[string]any) { m["format"] = "npy" }), l, ErrState, `"npy"`},
		{"unknown field", stateWith(t, l2, func(m map[string]any) { m["extra"] = 1 }), l, ErrState, "extra"},
		{"unknown state field", stateWith(t, l2, func(m map[string]any) { state(m)["extra"] = 1 }), l, ErrState, "extra"},
		{"no state", stateWith(t, l2, func(m map[string]any) { delete(m, "state") }), l, ErrState, "estimator state"},
		{"negative batches", stateWith(t, l2, func(m map[string]any) { m["batches"] = -1 }), l, ErrState, "batches -1"},
		{"unknown estimator", stateWith(t, l2, func(m map[string]any) { m["estimator"] = "l3norm" }), l, ErrEstimator, "l3norm"},
		{"short vector", stateWith(t, l2, func(m map[string]any) { state(m)["sum"] = []float64{1, 2} }), l, ErrState, "sum has 2 values"},
		{"negative sum", stateWith(t, l2, func(m map[string]any) { state(m)["sum"] = []float64{1, -2, 3, 4} }), l, ErrState, "sum[1]"},
		{"tokens", stateWith(t, wf, func(m map[string]any) { state(m)["tokens"] = 0 }), l, ErrState, "tokens 0 after 2 batches"},
		{"iterations", stateWith(t, it, func(m map[string]any) { m["options"] = map[string]any{"iterations": 1} }), l, ErrState, "2 batches observed of 1"},
		{"pruned count", stateWith(t, it, func(m map[string]any) { state(m)["pruned"] = []int{} }), l, ErrState, "0 channels pruned"},
		{"pruned twice", stateWith(t, it, func(m map[string]any) {
			m["options"] = map[string]any{"iterations": 2}
			state(m)["pruned"] = []int{3, 3, 1, 1}
		}), l, ErrState, "repeated"},
		{"pruned out of range", stateWith(t, it, func(m map[string]any) { state(m)["pruned"] = []int{4, 0} }), l, ErrState, "out of range"},
	} {
		_, err := LoadEstimator(strings.NewReader(tc.state), tc.layer)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: got %v, want %v mentioning %q", tc.name, err, tc.want, tc.mention)
		}
	}
}

// On a layer with planted unimportant channels (tiny activations, tiny
// weight columns, both) among channels of varied scale, pruning a quarter
// by any estimator's scores changes the output less than pruning by
// random's.
func TestEstimatorsBeatRandom(t *testing.T) {
	const in, out, batches = 64, 48, 8
	r := newRand(31)
	l := randLayer(r, in, out, true)
	scale := make([]float64, in)
	for c := range scale {
		scale[c] = math.Exp(0.5 * r.NormFloat64())
		switch {
		case c%8 == 1: // tiny activations
			scale[c] = 0.01
		case c%8 == 4: // tiny weight column
			for o := range out {
				l.Weight[o*in+c] *= 0.01
			}
		case c%16 == 6: // both
			scale[c] = 0.05
			for o := range out {
				l.Weight[o*in+c] *= 0.05
			}
		}
	}
	shapes := make([][]int, batches)
	for i := range shapes {
		shapes[i] = []int{4, 4, in}
	}
	data := randShaped(r, scale, shapes...)
	flat := make([][]float32, batches)
	for i, b := range data {
		flat[i] = b.x
	}
	rmse := map[string]float64{}
	for _, name := range EstimatorNames() {
		e := mustEstimator(t, name, l, estimatorOptions(name, batches, l.In))
		observeAll(t, e, data)
		m, err := Evaluate(l, flat, mustScores(t, e), 0.25)
		if err != nil {
			t.Fatal(err)
		}
		rmse[name] = m.RMSE
	}
	for name, v := range rmse {
		if name != "random" && !(v < rmse["random"]) {
			t.Errorf("%s: rmse %v, not below random's %v", name, v, rmse["random"])
		}
	}
	t.Logf("rmse at ratio 0.25: %v", rmse)
}
