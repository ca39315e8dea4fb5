package chanprune

import (
	"fmt"
	"math"
)

// A Fit accumulates the statistics a repair is fitted on: the tokens of its
// batches, their column sums and Σ_t x_tᵀx_t, all in float64, so that a fit
// set larger than memory streams through it. Σ xᵀx is formed by the float32
// Gram kernel over blocks of at most 256 rows (gramRows), each block rounded
// once into the float64 sum strip by strip as the workers form it (fuse), so
// that no block's matrix is stored. The rows are first shifted by the
// first batch's column means (x − μ₀, rounded to float32 relative to the
// difference), so that channels whose mean dwarfs their spread keep the
// digits of their scatter: S = Σ(x−μ₀)ᵀ(x−μ₀) − T·(m−μ₀)ᵀ(m−μ₀) cancels
// only what the shift leaves. A Fit holds about 8·In² bytes; it is not safe for
// concurrent use, but is independent of the Evaluator that made it.
type Fit struct {
	in, tokens, workers int
	centre              bool      // shift the rows by the first batch's means
	shift               []float32 // μ₀, set by the first batch (centre only)
	shiftBuf            []float32 // shift's memory, kept by reset
	sum                 []float64 // Σ_t (x_t − μ₀)
	xx                  []float64 // Σ_t (x_t − μ₀)ᵀ(x_t − μ₀), In×In, upper triangle
	diag                []float64 // one block's Gram diagonal (fuse's)
	sink                stripSink // adds a strip of a block's Gram matrix to xx
	blockSum            []float64 // one block's column sums
	rows                []float32 // one block's shifted rows
	shifting            []float32 // the block shiftJob centres into rows
	shiftJob            job[Fit]
	builder             *gramBuilder
}

// NewFit returns an empty fit set for the Evaluator's layer, formed with its
// kernel and workers; on an Evaluator not made by NewEvaluator, a Fit that
// refuses every call.
func (e *Evaluator) NewFit() *Fit {
	if e.kern == nil {
		return new(Fit)
	}
	return newFit(e.kern, e.in, e.workerCount(), true)
}

// errZeroFit refuses a Fit not made by NewFit, which has no sums.
var errZeroFit = fmt.Errorf("a Fit not made by NewFit: %w", ErrNil)

// newFit returns an empty fit set, shifting its rows if centre; without,
// xx is Σ xᵀx itself.
func newFit(kern *kernel, in, workers int, centre bool) *Fit {
	f := &Fit{
		in:       in,
		workers:  workers,
		centre:   centre,
		sum:      make([]float64, in),
		xx:       make([]float64, in*in),
		diag:     make([]float64, in),
		blockSum: make([]float64, in),
		builder:  newGramBuilder(kern, in),
	}
	f.sink = func(i0, m, c0 int, strip []float32, ld int) { addStrip(kern, f.xx, in, i0, m, c0, strip, ld) }
	return f
}

// Observe adds one batch, a row-major [..., In] tensor, to the fit set. On
// an error the fit set is unchanged.
func (f *Fit) Observe(batch []float32) error {
	if err := f.check(batch); err != nil {
		return err
	}
	f.observe(batch, func(block []float32) {
		f.builder.fuse(f.blockSum, f.diag, block, f.workers, nil, f.sink)
	})
	return nil
}

// check refuses a batch Observe cannot add.
func (f *Fit) check(batch []float32) error {
	if err := f.checkShape(batch); err != nil {
		return err
	}
	if i, ok := firstNonFinite(batch); ok {
		return fmt.Errorf("fit batch: activation [%d, %d] is %v: %w", i/f.in, i%f.in, batch[i], ErrNonFinite)
	}
	return nil
}

// checkShape is check without the scan for non-finite values.
func (f *Fit) checkShape(batch []float32) error {
	in := f.in
	switch {
	case f.builder == nil:
		return fmt.Errorf("fit batch: %w", errZeroFit)
	case len(batch) == 0:
		return fmt.Errorf("fit batch: no rows: %w", ErrEmpty)
	case len(batch)%in != 0:
		return fmt.Errorf("fit batch: %d values are not rows of In = %d: %w", len(batch), in, ErrShape)
	case f.tokens > math.MaxInt-len(batch)/in:
		return fmt.Errorf("fit batch: the token count would overflow: %w", ErrShape)
	}
	return nil
}

// observe adds a checked batch: it hands each block of at most gramRows
// rows, shifted, to gram, which adds its xᵀx to f.xx and sets f.blockSum
// to its column sums.
func (f *Fit) observe(batch []float32, gram func(block []float32)) {
	in := f.in
	rows := len(batch) / in
	f.setShift(batch)
	for r0 := 0; r0 < rows; r0 += gramRows {
		block := batch[r0*in : min(rows, r0+gramRows)*in]
		if f.shift != nil {
			f.rows, f.shifting = grow(f.rows, len(block)), block
			f.shiftJob.do(panels(len(block)/in, shiftSpanRows), f.workers, (*Fit).shiftSpan, f)
			block, f.shifting = f.rows, nil
		}
		gram(block)
		f.count(f.blockSum, len(block)/in)
	}
}

// count adds a block of rows, whose column sums are colSum, to the
// tokens and Σx.
func (f *Fit) count(colSum []float64, rows int) {
	for i, v := range colSum {
		f.sum[i] += v
	}
	f.tokens += rows
}

// shiftSpanRows is the rows of a block one item of Fit.shiftJob centres.
const shiftSpanRows = 32

// shiftSpan centres rows s·shiftSpanRows … of the block being shifted.
func (f *Fit) shiftSpan(_, s int) {
	lo, hi := s*shiftSpanRows*f.in, min(len(f.shifting), (s+1)*shiftSpanRows*f.in)
	shiftRows(f.rows[lo:hi], f.shifting[lo:hi], f.shift)
}

// setShift sets μ₀ from batch if the fit set shifts its rows and has none.
func (f *Fit) setShift(batch []float32) {
	if f.centre && f.shift == nil {
		f.shiftBuf = columnMeans(f.shiftBuf, batch, f.in)
		f.shift = f.shiftBuf
	}
}

// Tokens returns the rows observed so far.
func (f *Fit) Tokens() int { return f.tokens }

// moments returns the fit set's mean m and its centred scatter
// S = Σ xᵀx − T·m·mᵀ (of the shifted rows: the same S), In×In with both
// triangles, in float64.
func (f *Fit) moments() (mean, scatter []float64) {
	in := f.in
	scatter = make([]float64, in*in)
	for i := range in {
		for j := i; j < in; j++ {
			v := f.scatterAt(i, j)
			scatter[i*in+j], scatter[j*in+i] = v, v
		}
	}
	return f.mean(), scatter
}

// scatterAt returns S_ij, from the upper triangle of Σ xᵀx. A diagonal
// entry is a sum of squares: where rounding leaves it below zero (a
// channel constant over the fit set, Σx² and (Σx)²/T cancelling) it is 0.
func (f *Fit) scatterAt(i, j int) float64 {
	if i > j {
		i, j = j, i
	}
	v := f.xx[i*f.in+j] - f.sum[i]*f.sum[j]/float64(f.tokens)
	if i == j {
		return max(v, 0)
	}
	return v
}

// overflowCheck refuses a fit set whose Σ(x−μ₀)² of some channel
// overflowed float32 in a block of the Gram kernel: S then holds no
// numbers to fit on, however independent the channels.
func (f *Fit) overflowCheck() error {
	for c := range f.in {
		if !isFinite(f.scatterAt(c, c)) {
			return fmt.Errorf("the fit set's Σxᵀx of channel %d overflows float32 (it is summed in float32 over blocks of %d rows): scale the activations down: %w",
				c, gramRows, ErrNonFinite)
		}
	}
	return nil
}

// mean returns the fit set's mean.
func (f *Fit) mean() []float64 { return f.meanInto(nil) }

// meanInto sets dst (grown as needed) to the fit set's mean and returns it.
func (f *Fit) meanInto(dst []float64) []float64 {
	if cap(dst) < f.in {
		dst = make([]float64, f.in)
	}
	m := dst[:f.in]
	for i, s := range f.sum {
		m[i] = s / float64(f.tokens)
		if f.shift != nil {
			m[i] += float64(f.shift[i])
		}
	}
	return m
}

// columnMeans sets dst (made if nil) to the mean of each of x's in
// columns, in float32, and returns it.
func columnMeans(dst, x []float32, in int) []float32 {
	if dst == nil {
		dst = make([]float32, in)
	}
	clear(dst)
	var sums [64]float64
	for c0 := 0; c0 < in; c0 += len(sums) {
		n := min(len(sums), in-c0)
		clear(sums[:n])
		for t := range len(x) / in {
			for c, v := range x[t*in+c0 : t*in+c0+n] {
				sums[c] += float64(v)
			}
		}
		for c, s := range sums[:n] {
			dst[c0+c] = float32(s / float64(len(x)/in))
		}
	}
	return dst
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
