package chanprune

import (
	"fmt"
	"math"
)

// A Fit accumulates the statistics a repair is fitted on: the tokens of its
// batches, their column sums and Σ_t x_tᵀx_t, all in float64, so that a fit
// set larger than memory streams through it. Σ xᵀx is formed by the float32
// Gram kernel over blocks of at most gramRows rows, each block rounded once
// into the float64 sum. The rows are first shifted by the first batch's
// column means (x − μ₀, rounded to float32 relative to the difference), so
// that channels whose mean dwarfs their spread keep the digits of their
// scatter: S = Σ(x−μ₀)ᵀ(x−μ₀) − T·(m−μ₀)ᵀ(m−μ₀) cancels only what the
// shift leaves. A Fit holds about 12·In² bytes; it is not safe for
// concurrent use, but is independent of the Evaluator that made it.
type Fit struct {
	in, tokens, workers int
	centre              bool      // shift the rows by the first batch's means
	shift               []float32 // μ₀, set by the first batch (centre only)
	sum                 []float64 // Σ_t (x_t − μ₀)
	xx                  []float64 // Σ_t (x_t − μ₀)ᵀ(x_t − μ₀), In×In, upper triangle
	block               []float32 // one block's Gram matrix
	rows                []float32 // one block's shifted rows
	builder             *gramBuilder
}

// NewFit returns an empty fit set for the Evaluator's layer, formed with its
// kernel and workers.
func (e *Evaluator) NewFit() *Fit { return newFit(e.kern, e.in, e.workerCount(), true) }

// newFit returns an empty fit set, shifting its rows if centre; without,
// xx is Σ xᵀx itself.
func newFit(kern *kernel, in, workers int, centre bool) *Fit {
	return &Fit{
		in:      in,
		workers: workers,
		centre:  centre,
		sum:     make([]float64, in),
		xx:      make([]float64, in*in),
		block:   make([]float32, in*in),
		builder: newGramBuilder(kern, in),
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
	if f.centre && f.shift == nil {
		f.shift = columnMeans(batch, in)
	}
	for r0 := 0; r0 < rows; r0 += gramRows {
		block := batch[r0*in : min(rows, r0+gramRows)*in]
		if f.shift != nil {
			f.rows = shiftRows(f.rows, block, f.shift)
			block = f.rows
		}
		clear(f.block)
		f.builder.add(f.block, block, f.workers)
		for r := range len(block) / in {
			for i, v := range block[r*in : (r+1)*in] {
				f.sum[i] += float64(v)
			}
		}
		for i := range in {
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
// S = Σ xᵀx − T·m·mᵀ (of the shifted rows: the same S), In×In with both
// triangles, in float64.
func (f *Fit) moments() (mean, scatter []float64) {
	in, t := f.in, float64(f.tokens)
	scatter = make([]float64, in*in)
	for i := range in {
		for j := i; j < in; j++ {
			v := f.xx[i*in+j] - f.sum[i]*f.sum[j]/t
			scatter[i*in+j], scatter[j*in+i] = v, v
		}
	}
	return f.mean(), scatter
}

// mean returns the fit set's mean.
func (f *Fit) mean() []float64 {
	m := make([]float64, f.in)
	for i, s := range f.sum {
		m[i] = s / float64(f.tokens)
		if f.shift != nil {
			m[i] += float64(f.shift[i])
		}
	}
	return m
}

// columnMeans returns the mean of each of x's in columns, in float32.
func columnMeans(x []float32, in int) []float32 {
	sums := make([]float64, in)
	for t := range len(x) / in {
		for c, v := range x[t*in : (t+1)*in] {
			sums[c] += float64(v)
		}
	}
	means := make([]float32, in)
	for c, s := range sums {
		means[c] = float32(s / float64(len(x)/in))
	}
	return means
}

// shiftRows sets dst (grown as needed) to the rows of x less shift.
func shiftRows(dst, x, shift []float32) []float32 {
	if cap(dst) < len(x) {
		dst = make([]float32, len(x))
	}
	dst = dst[:len(x)]
	in := len(shift)
	for t := 0; t < len(x); t += in {
		for c, v := range x[t : t+in] {
			dst[t+c] = v - shift[c]
		}
	}
	return dst
}

// reset empties the fit set, keeping its memory.
func (f *Fit) reset() {
	f.tokens, f.shift = 0, nil
	clear(f.sum)
	clear(f.xx)
}
