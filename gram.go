package chanprune

// The Gram path: with G = xᵀx per batch, H = WᵀW, u = Wᵀb and s = Σ_t x_t,
// every quantity the metrics need is a contraction of H with G (DESIGN.md,
// "Gram shortcut"), so one T·in²/2 pass per batch serves any number of
// (score set, ratio) pairs.

// gramRows is how many rows the float32 kernel sums before a float64
// accumulation: it bounds the float32 error of a Gram entry by
// γ(gramRows)·Σ|x_i·x_j| however many rows there are.
const gramRows = 256

// gramBuilder forms xᵀx with the gemm micro-kernel over the tiles of the
// upper triangle, split among workers by tile row.
type gramBuilder struct {
	kern  *kernel
	in    int
	a, w  []float32   // a block of x's rows packed as mr- and nr-channel panels
	tiles [][]float32 // a tile per worker slot, for the float64 accumulation
	acc   []float64   // xᵀx summed over blocks of gramRows rows
	zeros []float32   // the gemm kernel's bias
	job   job
	call  struct {
		g    []float32
		acc  bool
		rows int
	}
}

func newGramBuilder(kern *kernel, in int) *gramBuilder {
	gb := &gramBuilder{kern: kern, in: in, zeros: make([]float32, kern.nr)}
	gb.job.run = gb.tileRow
	return gb
}

// build sets the upper triangle (j ≥ i) of g (in×in, row-major) to xᵀx for
// x of [rows, in]; entries below the diagonal are left undefined. Up to
// gramRows rows the kernel writes g directly; beyond, the blocks of
// gramRows rows are summed in float64 and rounded once.
func (gb *gramBuilder) build(g, x []float32, workers int) {
	mr, nr, in := gb.kern.mr, gb.kern.nr, gb.in
	rows := len(x) / in
	size := min(rows, gramRows) * max(panels(in, mr)*mr, panels(in, nr)*nr)
	if len(gb.a) < size {
		gb.a, gb.w = make([]float32, size), make([]float32, size)
	}
	gb.call.g, gb.call.acc = g, rows > gramRows
	if gb.call.acc {
		for len(gb.tiles) < workers {
			gb.tiles = append(gb.tiles, make([]float32, mr*nr))
		}
		if len(gb.acc) < in*in {
			gb.acc = make([]float64, in*in)
		}
		clear(gb.acc)
	}
	for r0 := 0; r0 < rows; r0 += gramRows {
		block := x[r0*in : min(rows, r0+gramRows)*in]
		gb.call.rows = len(block) / in
		packTransposed(gb.a, block, in, mr)
		packTransposed(gb.w, block, in, nr)
		gb.job.do(panels(in, mr), workers)
	}
	if gb.call.acc {
		for i := range in {
			for j := i; j < in; j++ {
				g[i*in+j] = float32(gb.acc[i*in+j])
			}
		}
	}
	gb.call.g = nil
}

// tileRow forms the upper-triangle tiles of tile row i (channels i·mr …).
func (gb *gramBuilder) tileRow(slot, i int) {
	mr, nr, in, rows := gb.kern.mr, gb.kern.nr, gb.in, gb.call.rows
	a := gb.a[i*rows*mr : (i+1)*rows*mr]
	i0 := i * mr
	m := min(mr, in-i0)
	for j := i0 / nr; j < panels(in, nr); j++ {
		j0 := j * nr
		n := min(nr, in-j0)
		w := gb.w[j*rows*nr : (j+1)*rows*nr]
		if !gb.call.acc {
			off := i0*in + j0
			gb.kern.gemm(a, w, rows, gb.zeros, gb.call.g[off:off+(m-1)*in+n], in, m, n)
			continue
		}
		tile := gb.tiles[slot]
		gb.kern.gemm(a, w, rows, gb.zeros, tile, nr, m, n)
		for r := range m {
			row := gb.acc[(i0+r)*in+j0:]
			for c := max(0, i0+r-j0); c < n; c++ {
				row[c] += float64(tile[r*nr+c])
			}
		}
	}
}

// packTransposed lays the rows of x ([rows, in]) out as panels of width
// channels: panel i holds, for each row t, x[t, i·width : i·width+width],
// zero padded past in. These are the operands of xᵀx.
func packTransposed(dst, x []float32, in, width int) {
	rows := len(x) / in
	for i := range panels(in, width) {
		panel := dst[i*rows*width : (i+1)*rows*width]
		c0 := i * width
		n := min(width, in-c0)
		for t := range rows {
			copy(panel[t*width:t*width+n], x[t*in+c0:t*in+c0+n])
			clear(panel[t*width+n : (t+1)*width])
		}
	}
}
