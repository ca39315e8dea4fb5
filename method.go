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
	// the activations, which happens when in > out (H is then singular),
	// and Auto never picks it for in > out. Each batch's sums are certified
	// (gram_certify.go); under Auto a batch that fails is redone on the
	// direct path, under a forced Gram it is counted in
	// Metrics.Uncertified.
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

// WithMethod forces a method instead of Auto.
func WithMethod(m Method) Option { return func(c *config) { c.method = m } }

// maxGramBytes bounds the memory Auto lets the Gram path take: H and G in
// float32 and, for batches over gramRows rows, a float64 accumulator.
const maxGramBytes = 1 << 30

// plan returns the method for evals evaluations over batches, counting H
// as paid if it is built already or will be over a long stream. The costs
// are in multiply-adds of the kernel: the direct path does tokens·in·out
// per evaluation; the Gram path does tokens·in²/2 per batch in the kernel,
// visits the in²/2 entries of H⊙G once per batch and evaluation (each worth
// kernel.gramEntryMACs), spends kernel.gramBatchMACs more per batch, and
// builds H (out·in²/2) once.
func (e *Evaluator) plan(batches [][]float32, evals int, stream bool) Method {
	if e.method != Auto {
		return e.method
	}
	in, out := float64(e.in), float64(e.out)
	if e.in > e.out || 16*in*in > maxGramBytes {
		return Direct
	}
	var tokens float64
	for _, x := range batches {
		tokens += float64(len(x) / e.in)
	}
	direct := float64(evals) * tokens * in * out
	gram := tokens*in*in/2 + float64(len(batches)*evals*e.kern.gramEntryMACs)*in*in/2 +
		float64(len(batches)*e.kern.gramBatchMACs)
	if e.layerGram == nil && !stream {
		gram += out * in * in / 2
	}
	if gram < direct {
		return Gram
	}
	return Direct
}
