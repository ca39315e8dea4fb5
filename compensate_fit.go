package chanprune

import (
	"fmt"
	"math"
)

// A Fit accumulates the statistics a repair is fitted on: the tokens of its
// batches, their column sums and Σ_t x_tᵀx_t, all in float64, so that a fit
// set larger than memory streams through it. Σ xᵀx is formed by the float32
// Gram kernel over blocks of at most gramRows rows, each block rounded once
// into the float64 sum. A Fit holds 12·In² bytes; it is not safe for
// concurrent use, but is independent of the Evaluator that made it.
type Fit struct {
	in, tokens, workers int
	sum                 []float64 // Σ_t x_t
	xx                  []float64 // Σ_t x_tᵀx_t, In×In, upper triangle
	block               []float32 // one block's xᵀx
	blockSum            []float64 // one block's column sums
	builder             *gramBuilder
}

// NewFit returns an empty fit set for the Evaluator's layer, formed with its
// kernel and workers.
func (e *Evaluator) NewFit() *Fit { return newFit(e.kern, e.in, e.workerCount()) }

func newFit(kern *kernel, in, workers int) *Fit {
	return &Fit{
		in:       in,
		workers:  workers,
		sum:      make([]float64, in),
		xx:       make([]float64, in*in),
		block:    make([]float32, in*in),
		blockSum: make([]float64, in),
		builder:  newGramBuilder(kern, in),
	}
}

// Observe adds one batch, a row-major [..., In] tensor, to the fit set. On
// an error the fit set is unchanged.
func (f *Fit) Observe(batch []float32) error {
	in := f.in
	switch {
	case len(batch) == 0:
		return fmt.Errorf("fit batch: no rows: %w", ErrEmpty)
	case len(batch)%in != 0:
		return fmt.Errorf("fit batch: %d values are not rows of In = %d: %w", len(batch), in, ErrShape)
	case f.tokens > math.MaxInt-len(batch)/in:
		return fmt.Errorf("fit batch: the token count would overflow: %w", ErrShape)
	}
	if i, ok := firstNonFinite(batch); ok {
		return fmt.Errorf("fit batch: activation [%d, %d] is %v: %w", i/in, i%in, batch[i], ErrNonFinite)
	}
	rows := len(batch) / in
	for r0 := 0; r0 < rows; r0 += gramRows {
		f.builder.build(f.block, f.blockSum, batch[r0*in:min(rows, r0+gramRows)*in], f.workers)
		for i := range in {
			f.sum[i] += f.blockSum[i]
			acc, g := f.xx[i*in+i:(i+1)*in], f.block[i*in+i:(i+1)*in]
			for j, v := range g {
				acc[j] += float64(v)
			}
		}
	}
	f.tokens += rows
	return nil
}

// Tokens returns the rows observed so far.
func (f *Fit) Tokens() int { return f.tokens }

// moments returns the fit set's mean m and its centred scatter
// S = Σ xᵀx − T·m·mᵀ, In×In with both triangles, in float64.
func (f *Fit) moments() (mean, scatter []float64) {
	in, t := f.in, float64(f.tokens)
	mean = make([]float64, in)
	for i, s := range f.sum {
		mean[i] = s / t
	}
	scatter = make([]float64, in*in)
	for i := range in {
		for j := i; j < in; j++ {
			v := f.xx[i*in+j] - f.sum[i]*mean[j]
			scatter[i*in+j], scatter[j*in+i] = v, v
		}
	}
	return mean, scatter
}

// reset empties the fit set, keeping its memory.
func (f *Fit) reset() {
	f.tokens = 0
	clear(f.sum)
	clear(f.xx)
}
