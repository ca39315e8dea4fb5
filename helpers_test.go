package chanprune

import (
	"math"
	"math/rand/v2"
)

// Seeded generators for test inputs: failures reproduce.

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// randLayer returns a layer initialised like nn.Linear: uniform ±1/√in.
func randLayer(r *rand.Rand, in, out int, bias bool) Linear {
	bound := 1 / math.Sqrt(float64(in))
	l := Linear{In: in, Out: out, Weight: uniform(r, in*out, bound)}
	if bias {
		l.Bias = uniform(r, out, bound)
	}
	return l
}

func uniform(r *rand.Rand, n int, bound float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32((2*r.Float64() - 1) * bound)
	}
	return x
}

// randBatches returns one batch per entry of tokens, each [tokens, in] with
// normal activations.
func randBatches(r *rand.Rand, in int, tokens ...int) [][]float32 {
	batches := make([][]float32, len(tokens))
	for b, t := range tokens {
		batches[b] = make([]float32, t*in)
		for i := range batches[b] {
			batches[b][i] = float32(r.NormFloat64())
		}
	}
	return batches
}

func randScores(r *rand.Rand, in int) []float32 { return uniform(r, in, 1) }

// allocRuns is how many calls the allocation tests average over. The
// runtime allocates a sudog when a goroutine blocks and neither its P's
// cache nor the central one has one; a worker that blocks on one P and
// wakes on another takes from one cache and returns to the other, so a
// burst of such allocations can come now and then until a full P cache
// (128) hands half to the central one. Once in this stop's CI runs a
// sweep averaged one allocation a call over 10 calls, and never in 120
// reruns here; over this many calls such a burst averages below one, while
// an allocation in every call still counts one.
const allocRuns = 100
