package chanprune

import (
	"sync"
	"sync/atomic"
)

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
	if workers == 1 || len(batches) >= workers {
		// Whole batches per worker: no synchronisation inside a batch.
		parallel(min(workers, len(batches)), len(batches), func(w, b int) {
			e.pack(e.packed[w], batches[b])
			chunk := &e.workerSums[w]
			var total sums
			for c := range e.numChunks() {
				*chunk = sums{}
				e.evalChunk(e.packed[w], batches[b], nk, c, chunk)
				addSums(&total, *chunk)
			}
			e.batchSums[b] = total
		})
		return
	}
	// Fewer batches than workers: share each batch's chunks.
	for b, x := range batches {
		e.pack(e.packed[0], x)
		parallel(workers, e.numChunks(), func(_, c int) {
			e.chunkSums[c] = sums{}
			e.evalChunk(e.packed[0], x, nk, c, &e.chunkSums[c])
		})
		var total sums
		for _, cs := range e.chunkSums {
			addSums(&total, cs)
		}
		e.batchSums[b] = total
	}
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

// parallel runs f(worker, i) for i in [0, n) on the given number of
// goroutines, each taking the next i as it finishes the last.
func parallel(workers, n int, f func(worker, i int)) {
	if workers <= 1 {
		for i := range n {
			f(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(w, i)
			}
		}()
	}
	wg.Wait()
}
