package chanprune

// The work of one call is split into (batch, chunk) units, a chunk being a
// fixed run of weight panels. Each unit's reductions are formed in the same
// order whoever runs it, and a batch's sums are the chunk sums added in chunk
// order, so the result does not depend on the number of workers.

// chunkOutputs is the width of a chunk in outputs: wide enough to amortise
// the activation panel, narrow enough to share one batch among workers.
const chunkOutputs = 256

func (e *Evaluator) chunkPanels() int { return max(1, chunkOutputs/e.kern.nr) }

func (e *Evaluator) numChunks() int {
	cp := e.chunkPanels()
	return (panels(e.out, e.kern.nr) + cp - 1) / cp
}

// run fills e.batchSums with each batch's reductions, nk channels kept.
func (e *Evaluator) run(batches [][]float32, nk int) {
	workers := e.workerCount()
	e.grow(batches, workers)
	e.call.batches, e.call.nk = batches, nk
	defer func() { e.call.batches, e.call.x = nil, nil }() // keep no caller memory alive
	if workers == 1 || len(batches) >= workers {
		// Whole batches per worker: no synchronisation inside a batch.
		e.call.batchJob.do(len(batches), min(workers, len(batches)), (*Evaluator).evalBatch, e)
		return
	}
	// Fewer batches than workers: share each batch's chunks.
	for b, x := range batches {
		e.pack(e.packed[0], x)
		e.call.x = x
		e.call.chunkJob.do(e.numChunks(), workers, (*Evaluator).evalSharedChunk, e)
		var total sums
		for _, cs := range e.chunkSums {
			addSums(&total, cs)
		}
		e.batchSums[b] = total
	}
}

// evalBatch is the batch job: worker slot w evaluates batch b.
func (e *Evaluator) evalBatch(w, b int) {
	x := e.call.batches[b]
	e.pack(e.packed[w], x)
	chunk := &e.workerSums[w]
	var total sums
	for c := range e.numChunks() {
		*chunk = sums{}
		e.evalChunk(e.packed[w], x, e.call.nk, c, chunk)
		addSums(&total, *chunk)
	}
	e.batchSums[b] = total
}

// evalSharedChunk is the chunk job: chunk c of the batch packed in slot 0.
func (e *Evaluator) evalSharedChunk(_, c int) {
	e.chunkSums[c] = sums{}
	e.evalChunk(e.packed[0], e.call.x, e.call.nk, c, &e.chunkSums[c])
}

// evalChunk adds the reductions of chunk c of a batch, whose activations
// are packed, to s.
func (e *Evaluator) evalChunk(packed, x []float32, nk, c int, s *sums) {
	mr, nr, in := e.kern.mr, e.kern.nr, e.in
	tokens := len(x) / in
	cp := e.chunkPanels()
	for j := c * cp; j < min((c+1)*cp, panels(e.out, nr)); j++ {
		w := e.weight[j*in*nr : (j+1)*in*nr]
		bias := e.bias[j*nr : (j+1)*nr]
		for i := range panels(tokens, mr) {
			a := packed[i*in*mr : (i+1)*in*mr]
			e.kern.eval(a, w, e.perm, nk, bias, min(mr, tokens-i*mr), s)
		}
	}
}

func (e *Evaluator) pack(dst, x []float32) {
	packActivations(dst, x, e.in, e.kern.mr, e.perm)
}

// grow sizes the scratch for batches and workers, keeping what is there.
func (e *Evaluator) grow(batches [][]float32, workers int) {
	maxTokens := 0
	for _, x := range batches {
		maxTokens = max(maxTokens, len(x)/e.in)
	}
	size := panels(maxTokens, e.kern.mr) * e.kern.mr * e.in
	for len(e.packed) < workers {
		e.packed = append(e.packed, nil)
	}
	for w := range e.packed[:workers] {
		if len(e.packed[w]) < size {
			e.packed[w] = make([]float32, size)
		}
	}
	if len(e.workerSums) < workers {
		e.workerSums = make([]sums, workers)
	}
	if len(e.batchSums) < len(batches) {
		e.batchSums = make([]sums, len(batches))
	}
	if len(e.chunkSums) != e.numChunks() {
		e.chunkSums = make([]sums, e.numChunks())
	}
}
