// Package seed builds the seed example on which the demo and the benchmarks
// run: a linear layer initialised like PyTorch's nn.Linear and activation
// batches whose channels differ in scale, so importance estimators disagree.
// Everything comes from a fixed seed.
package seed

import (
	"math"
	"math/rand/v2"
)

// Example is a layer with activation batches.
type Example struct {
	In, Out int
	Weight  []float32 // [Out, In]
	Bias    []float32 // [Out]
	Batches [][]float32
	Tokens  int // rows per batch
}

// Seed is the seed example: 1024→4096, 100 batches of [16, 8, 1024].
func Seed() *Example { return New(1024, 4096, 100, 16*8, 1) }

// New returns an in→out layer, uniform in ±1/√in like nn.Linear, and
// batches of tokens rows whose channel c is normal with a log-normal scale.
func New(in, out, batches, tokens int, seed uint64) *Example {
	r := rand.New(rand.NewPCG(seed, 0xc4a9))
	bound := 1 / math.Sqrt(float64(in))
	e := &Example{
		In: in, Out: out, Tokens: tokens,
		Weight: uniform(r, in*out, bound),
		Bias:   uniform(r, out, bound),
	}
	scale := make([]float64, in)
	for c := range scale {
		scale[c] = math.Exp(r.NormFloat64())
	}
	for range batches {
		x := make([]float32, tokens*in)
		for i := range x {
			x[i] = float32(r.NormFloat64() * scale[i%in])
		}
		e.Batches = append(e.Batches, x)
	}
	return e
}

// Varied is New with what sets the estimators apart, as in trained
// layers: each weight column c scaled by a log-normal factor of its own
// (with nn.Linear's uniform columns, estimators that weigh activations by
// the weight rank the channels as the weight-blind ones do) and each
// activation channel offset by a mean of its own (with zero means, the
// mean magnitude, the root mean square and the variance rank the channels
// alike). The demo runs on it; the benchmarks and the conformance cases
// keep New's example.
func Varied(in, out, batches, tokens int, seed uint64) *Example {
	e := New(in, out, batches, tokens, seed)
	r := rand.New(rand.NewPCG(seed, 0xc01))
	for c := range in {
		f := float32(math.Exp(r.NormFloat64()))
		for o := range out {
			e.Weight[o*in+c] *= f
		}
	}
	mean := make([]float32, in)
	for c := range mean {
		mean[c] = float32(2 * r.NormFloat64())
	}
	for _, x := range e.Batches {
		for i := range x {
			x[i] += mean[i%in]
		}
	}
	return e
}

// RandomScores returns uniform scores in [0, 1): the baseline estimator.
func (e *Example) RandomScores(seed uint64) []float32 {
	return uniform(rand.New(rand.NewPCG(seed, 0x5c0e)), e.In, 0.5)
}

// ActivationNorms returns each channel's L2 norm over all batches.
func (e *Example) ActivationNorms() []float32 {
	acc := make([]float64, e.In)
	for _, x := range e.Batches {
		for i, v := range x {
			acc[i%e.In] += float64(v) * float64(v)
		}
	}
	scores := make([]float32, e.In)
	for c, a := range acc {
		scores[c] = float32(math.Sqrt(a))
	}
	return scores
}

// FLOPs returns the useful flops of one evaluation: 2·tokens·in·out summed
// over the batches (one product; the split into kept and pruned is free).
func (e *Example) FLOPs() float64 {
	return 2 * float64(len(e.Batches)*e.Tokens) * float64(e.In) * float64(e.Out)
}

func uniform(r *rand.Rand, n int, bound float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32((2*r.Float64() - 1) * bound)
	}
	return x
}
