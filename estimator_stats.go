package chanprune

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The estimators that reduce each batch to per-channel statistics. Their
// exported fields are their saved state; the rest derives from the weight
// or is scratch.

// l2Norm is Model-Optimizer's MegatronL2NormHook.
type l2Norm struct {
	Sum    []float64 `json:"sum"` // Σ_batches Σ_b (mean_seq |x_{s,b,c}|)²
	seqSum []float64 // scratch: Σ_seq |x_{s,b,c}| of the batch, [batch, in]
}

func newL2Norm(layer Linear, _ EstimatorOptions) (scorer, error) {
	return &l2Norm{Sum: make([]float64, layer.In)}, nil
}

func (l *l2Norm) observe(a activations) error {
	in := len(l.Sum)
	width := a.batch * in
	l.seqSum = zeroed(l.seqSum, width)
	for s := range a.seq {
		for b := range a.batch {
			sum := l.seqSum[b*in : (b+1)*in]
			for c, v := range a.token(s, b, in) {
				sum[c] += math.Abs(float64(v))
			}
		}
	}
	for i, v := range l.seqSum {
		m := v / float64(a.seq)
		l.Sum[i%in] += m * m
	}
	return nil
}

func (l *l2Norm) scores() []float32 { return sqrtScores(l.Sum) }

func (l *l2Norm) restore(in, _ int) error { return checkStateVector("sum", l.Sum, in, 0, maxStateSum) }

// channelContribution is Model-Optimizer's
// IndependentChannelContributionHook.
type channelContribution struct {
	MeanAbs  []float64 `json:"mean_abs"` // Σ_batches mean_tokens |x_{t,c}|
	colNorm  []float64 // ‖W[:,c]‖₂
	batchSum []float64 // scratch: Σ_tokens |x_{t,c}| of the batch
}

func newChannelContribution(layer Linear, _ EstimatorOptions) (scorer, error) {
	sumSq, _ := weightColumns(layer)
	for c, v := range sumSq {
		sumSq[c] = math.Sqrt(v)
	}
	return &channelContribution{MeanAbs: make([]float64, layer.In), colNorm: sumSq}, nil
}

func (cc *channelContribution) observe(a activations) error {
	in := len(cc.MeanAbs)
	cc.batchSum = zeroed(cc.batchSum, in)
	for t := range a.tokens() {
		for c, v := range a.x[t*in : (t+1)*in] {
			cc.batchSum[c] += math.Abs(float64(v))
		}
	}
	for c, v := range cc.batchSum {
		cc.MeanAbs[c] += v / float64(a.tokens())
	}
	return nil
}

func (cc *channelContribution) scores() []float32 {
	s := make([]float32, len(cc.MeanAbs))
	for c, v := range cc.MeanAbs {
		s[c] = float32(cc.colNorm[c] * v)
	}
	return s
}

func (cc *channelContribution) restore(in, _ int) error {
	return checkStateVector("mean_abs", cc.MeanAbs, in, 0, maxStateSum)
}

// wandaSP is the channel form of Wanda, FLAP's WIFN.
type wandaSP struct {
	SumSq    []float64 `json:"sum_sq"` // Σ_tokens x_{t,c}²
	Tokens   int       `json:"tokens"`
	meanAbsW []float64 // mean_o |W_{o,c}|
}

func newWandaSP(layer Linear, _ EstimatorOptions) (scorer, error) {
	_, sumAbs := weightColumns(layer)
	for c, v := range sumAbs {
		sumAbs[c] = v / float64(layer.Out)
	}
	return &wandaSP{SumSq: make([]float64, layer.In), meanAbsW: sumAbs}, nil
}

func (w *wandaSP) observe(a activations) error {
	if err := checkTokenCount(w.Tokens, a.tokens()); err != nil {
		return err
	}
	in := len(w.SumSq)
	for t := range a.tokens() {
		for c, v := range a.x[t*in : (t+1)*in] {
			w.SumSq[c] += float64(v) * float64(v)
		}
	}
	w.Tokens += a.tokens()
	return nil
}

func (w *wandaSP) scores() []float32 {
	s := make([]float32, len(w.SumSq))
	for c, v := range w.SumSq {
		s[c] = float32(w.meanAbsW[c] * math.Sqrt(v/float64(w.Tokens)))
	}
	return s
}

func (w *wandaSP) restore(in, batches int) error {
	if err := checkStateTokens(w.Tokens, batches); err != nil {
		return err
	}
	return checkStateVector("sum_sq", w.SumSq, in, 0, maxStateSum)
}

// fluctuation is FLAP's WIFV. Each batch's mean and squared deviations
// come from two passes over it, then merge into the running ones by the
// parallel form of Welford's update (Chan et al.).
type fluctuation struct {
	Mean      []float64 `json:"mean"` // mean_tokens x_{t,c}
	M2        []float64 `json:"m2"`   // Σ_tokens (x_{t,c} − mean_c)²
	Tokens    int       `json:"tokens"`
	colSumSq  []float64 // Σ_o W_{o,c}²
	batchMean []float64 // scratch, the batch's own mean and M2
	batchM2   []float64
}

func newFluctuation(layer Linear, _ EstimatorOptions) (scorer, error) {
	sumSq, _ := weightColumns(layer)
	return &fluctuation{Mean: make([]float64, layer.In), M2: make([]float64, layer.In), colSumSq: sumSq}, nil
}

func (f *fluctuation) observe(a activations) error {
	if err := checkTokenCount(f.Tokens, a.tokens()); err != nil {
		return err
	}
	in, nb := len(f.Mean), a.tokens()
	f.batchMean, f.batchM2 = zeroed(f.batchMean, in), zeroed(f.batchM2, in)
	for t := range nb {
		for c, v := range a.x[t*in : (t+1)*in] {
			f.batchMean[c] += float64(v)
		}
	}
	for c := range f.batchMean {
		f.batchMean[c] /= float64(nb)
	}
	for t := range nb {
		for c, v := range a.x[t*in : (t+1)*in] {
			d := float64(v) - f.batchMean[c]
			f.batchM2[c] += d * d
		}
	}
	na, n := float64(f.Tokens), float64(f.Tokens+nb)
	for c, mb := range f.batchMean {
		d := mb - f.Mean[c]
		f.Mean[c] += d * float64(nb) / n
		f.M2[c] += f.batchM2[c] + d*d*na*float64(nb)/n
	}
	f.Tokens += nb
	return nil
}

func (f *fluctuation) scores() []float32 {
	s := make([]float32, len(f.M2))
	for c, m2 := range f.M2 {
		s[c] = float32(m2 / float64(f.Tokens) * f.colSumSq[c])
	}
	return s
}

func (f *fluctuation) restore(in, batches int) error {
	if err := checkStateTokens(f.Tokens, batches); err != nil {
		return err
	}
	if err := checkStateVector("mean", f.Mean, in, -maxStateMean, maxStateMean); err != nil {
		return err
	}
	return checkStateVector("m2", f.M2, in, 0, maxStateSum)
}

// magnitude scores a channel by its weight column alone.
type magnitude struct {
	colSumSq []float64
}

func newMagnitude(layer Linear, _ EstimatorOptions) (scorer, error) {
	sumSq, _ := weightColumns(layer)
	return &magnitude{colSumSq: sumSq}, nil
}

func (m *magnitude) observe(activations) error { return nil }
func (m *magnitude) scores() []float32         { return sqrtScores(m.colSumSq) }
func (m *magnitude) restore(int, int) error    { return nil }

// random is the baseline: scores uniform in [0, 1) from a seed.
type random struct {
	in   int
	seed uint64
}

func newRandom(layer Linear, opts EstimatorOptions) (scorer, error) {
	return &random{in: layer.In, seed: opts.Seed}, nil
}

func (r *random) observe(activations) error { return nil }
func (r *random) restore(int, int) error    { return nil }

func (r *random) scores() []float32 {
	g := rand.New(rand.NewPCG(r.seed, 0x72616e646f6d))
	s := make([]float32, r.in)
	for c := range s {
		s[c] = g.Float32()
	}
	return s
}

// weightColumns returns Σ_o W_{o,c}² and Σ_o |W_{o,c}| for every input
// channel c.
func weightColumns(l Linear) (sumSq, sumAbs []float64) {
	sumSq, sumAbs = make([]float64, l.In), make([]float64, l.In)
	for o := range l.Out {
		for c, v := range l.Weight[o*l.In : (o+1)*l.In] {
			w := float64(v)
			sumSq[c] += w * w
			sumAbs[c] += math.Abs(w)
		}
	}
	return sumSq, sumAbs
}

// sqrtScores returns the square root of every value, as float32 scores.
func sqrtScores(v []float64) []float32 {
	s := make([]float32, len(v))
	for c, x := range v {
		s[c] = float32(math.Sqrt(x))
	}
	return s
}

// zeroed returns buf resized to n and zeroed, reusing its memory.
func zeroed[T float32 | float64](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	buf = buf[:n]
	clear(buf)
	return buf
}

// Bounds on what a saved state may hold, beyond which no run on float32
// activations gets: a sum adds at most MaxInt terms, each at most the
// square of a difference of two float32 values, (2·MaxFloat32)²; a mean of
// float32 values stays within ±MaxFloat32, doubled for rounding. A state
// within them cannot reach ±Inf, nor NaN through Inf·0 or Inf−Inf, however
// many batches it goes on to observe.
const (
	maxStateSum  = 4 * math.MaxFloat32 * math.MaxFloat32 * math.MaxInt64
	maxStateMean = 2 * math.MaxFloat32
)

// checkStateVector checks a restored per-channel vector: In values, each
// in [lowest, highest].
func checkStateVector(name string, v []float64, in int, lowest, highest float64) error {
	if len(v) != in {
		return fmt.Errorf("%s has %d values, want In = %d: %w", name, len(v), in, ErrState)
	}
	for c, x := range v {
		if !(x >= lowest && x <= highest) {
			return fmt.Errorf("%s[%d] = %v is out of range [%g, %g]: %w", name, c, x, lowest, highest, ErrState)
		}
	}
	return nil
}

// checkTokenCount refuses a batch of n tokens that would take a token
// count past math.MaxInt, which only a crafted state can bring near.
func checkTokenCount(tokens, n int) error {
	if n > math.MaxInt-tokens {
		return fmt.Errorf("tokens %d + %d overflow the token count: %w", tokens, n, ErrState)
	}
	return nil
}

// checkStateTokens checks a restored token count against the batch count:
// every batch has at least one token.
func checkStateTokens(tokens, batches int) error {
	if tokens < batches || (batches == 0) != (tokens == 0) {
		return fmt.Errorf("tokens %d after %d batches: %w", tokens, batches, ErrState)
	}
	return nil
}
