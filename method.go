package chanprune

import "fmt"

// A Method is how an Evaluator computes the metrics.
type Method int

const (
	// Auto picks Direct or Gram per call from a cost model (see plan).
	Auto Method = iota
	// Direct forms y' and d with one product per evaluation: exact to
	// float32 rounding for any layer.
	Direct
	// Gram forms G = xᵀx once per batch and contracts it with H = WᵀW:
	// cheaper when out is large next to in, or when many (score set, ratio)
	// pairs share the batches. Its sums cancel where W nearly annihilates
	// the activations, which can happen when in > out (H is then
	// singular), so each batch's sums are certified (gram_certify.go);
	// under Auto a batch that fails is redone on the direct path, under a
	// forced Gram it is counted in Metrics.Uncertified.
	Gram
)

var methodNames = []string{"auto", "direct", "gram"}

func (m Method) String() string {
	if m < 0 || int(m) >= len(methodNames) {
		return fmt.Sprintf("Method(%d)", int(m))
	}
	return methodNames[m]
}

// ParseMethod returns the Method named "auto", "direct" or "gram".
func ParseMethod(s string) (Method, error) {
	for i, n := range methodNames {
		if s == n {
			return Method(i), nil
		}
	}
	return 0, fmt.Errorf("method %q: want auto, direct or gram: %w", s, ErrMethod)
}

// WithMethod forces a method instead of Auto. It is an option of
// NewEvaluator only: NewLayer, Compact and CompactByScores, which have no
// method to choose, refuse it with ErrOption.
func WithMethod(m Method) Option {
	return func(c *config) { c.method, c.methodSet = m, true }
}

// maxGramBytes bounds the memory Auto lets the Gram path take: H and G in
// float32, 8·in² bytes, counted twice to leave room for its scratch.
const maxGramBytes = 1 << 30

// plan returns the method for pairs (score set, ratio) pairs of sets
// score sets over batches, counting H as paid if it is built already or
// paid is set. The costs are in multiply-adds of the kernel: the direct
// path does tokens·in·out per pair and packs its activations
// (directCost); the Gram path does
// tokens·in²/2 per batch in the kernel, visits the in²/2 entries of H⊙G
// once per batch (gramEntryCost), spends kernel.gramBatchMACs more per
// batch, and builds H (out·in²/2) once. A layer wider than tall (in > out)
// is no exception: one evaluation of it costs less direct (tokens·in²/2 >
// tokens·in·out), but a sweep's pairs share G, and its batches are
// certified like any.
func (e *Evaluator) plan(batches [][]float32, pairs, sets int, paid bool) Method {
	if e.method != Auto {
		return e.method
	}
	in := float64(e.in)
	if 16*in*in > maxGramBytes {
		return Direct
	}
	gram := float64(len(batches)) * (float64(e.kern.gramBatchMACs) + gramEntryCost(e.kern, pairs, sets)*in*in/2)
	if e.layerGram == nil && !paid {
		gram += e.buildCost()
	}
	if gram+e.tokens(batches)*in*in/2 < e.directCost(batches, pairs) {
		return Gram
	}
	return Direct
}

// gramEntryCost is what an entry of H⊙G costs a batch, in the kernel's
// multiply-adds: one pair is one contraction (gramEntryMACs); more pairs
// share one sweep pass (sweepSplit) whatever their number, which costs
// about (3+sets)/3 contractions for sets score sets (CPU profiles of
// BenchmarkSweep/seed, 5 sets: 0.92 ns an entry against the contraction's
// 0.34, AVX-512).
func gramEntryCost(k *kernel, pairs, sets int) float64 {
	if pairs <= 1 {
		return float64(k.gramEntryMACs)
	}
	return float64(k.gramEntryMACs) * float64(3+sets) / 3
}

// planStream plans the next batch of a stream, whose length is unknown:
// until H is built, the stream runs direct while that is cheaper than
// building H and going Gram for the batch, and builds H once what direct
// has cost (spent) reaches the cost of building it, so it pays at most
// about twice what the better choice for the whole stream would have.
func (e *Evaluator) planStream(batch [][]float32, pairs, sets int, spent *float64) Method {
	m := e.plan(batch, pairs, sets, *spent >= e.buildCost())
	if m == Direct {
		*spent += e.directCost(batch, pairs)
	}
	return m
}

// buildCost is the multiply-adds of building H.
func (e *Evaluator) buildCost() float64 { return float64(e.out) * float64(e.in) * float64(e.in) / 2 }

// directCost is the multiply-adds of the direct path for pairs pairs:
// tokens·in·out each, out padded to whole weight panels, which the kernel
// computes (a 1024→8 layer costs what a 1024→32 one does with AVX-512),
// and each pair's packing of the activations, tokens·in of them at
// directPackMACs each, which is most of a narrow layer's cost (a sweep of
// 45 pairs on 1024→8 took 3.4 times as long direct as Gram on AVX2).
func (e *Evaluator) directCost(batches [][]float32, pairs int) float64 {
	out := panels(e.out, e.kern.nr) * e.kern.nr
	return float64(pairs) * e.tokens(batches) * float64(e.in) * float64(out+e.kern.directPackMACs)
}

func (e *Evaluator) tokens(batches [][]float32) float64 {
	var tokens float64
	for _, x := range batches {
		tokens += float64(len(x) / e.in)
	}
	return tokens
}
