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

// WithMethod forces a method instead of Auto. It is an option of
// NewEvaluator only: NewLayer, Compact and CompactByScores, which have no
// method to choose, refuse it with ErrOption.
func WithMethod(m Method) Option {
	return func(c *config) { c.method, c.methodSet = m, true }
}

// maxGramBytes bounds the memory Auto lets the Gram path take: H and G in
// float32, 8·in² bytes, counted twice to leave room for its scratch.
const maxGramBytes = 1 << 30

// plan returns the method for evals evaluations over batches, counting H
// as paid if it is built already or paid is set. The costs are in
// multiply-adds of the kernel: the direct path does tokens·in·out per
// evaluation; the Gram path does tokens·in²/2 per batch in the kernel,
// visits the in²/2 entries of H⊙G once per batch and evaluation (each worth
// kernel.gramEntryMACs), spends kernel.gramBatchMACs more per batch, and
// builds H (out·in²/2) once.
func (e *Evaluator) plan(batches [][]float32, evals int, paid bool) Method {
	if e.method != Auto {
		return e.method
	}
	in := float64(e.in)
	if e.in > e.out || 16*in*in > maxGramBytes {
		return Direct
	}
	gram := float64(len(batches)*e.kern.gramBatchMACs) + float64(len(batches)*evals*e.kern.gramEntryMACs)*in*in/2
	if e.layerGram == nil && !paid {
		gram += e.buildCost()
	}
	if gram+e.tokens(batches)*in*in/2 < e.directCost(batches, evals) {
		return Gram
	}
	return Direct
}

// planStream plans the next batch of a stream, whose length is unknown:
// until H is built, the stream runs direct while that is cheaper than
// building H and going Gram for the batch, and builds H once what direct
// has cost (spent) reaches the cost of building it, so it pays at most
// about twice what the better choice for the whole stream would have.
func (e *Evaluator) planStream(batch [][]float32, evals int, spent *float64) Method {
	m := e.plan(batch, evals, *spent >= e.buildCost())
	if m == Direct {
		*spent += e.directCost(batch, evals)
	}
	return m
}

// buildCost is the multiply-adds of building H.
func (e *Evaluator) buildCost() float64 { return float64(e.out) * float64(e.in) * float64(e.in) / 2 }

func (e *Evaluator) directCost(batches [][]float32, evals int) float64 {
	return float64(evals) * e.tokens(batches) * float64(e.in) * float64(e.out)
}

func (e *Evaluator) tokens(batches [][]float32) float64 {
	var tokens float64
	for _, x := range batches {
		tokens += float64(len(x) / e.in)
	}
	return tokens
}
