package chanprune

// The Gram path: with G = xᵀx per batch, H = WᵀW, u = Wᵀb and s = Σ_t x_t,
// every quantity the metrics need is a contraction of H with G (README, "Methods:
// direct and Gram"), so one T·in²/2 pass per batch serves any number of
// (score set, ratio) pairs.

// gramRows is how many rows the float32 kernel sums before a float64
// accumulation: it bounds the float32 error of a Gram entry by
// γ(gramRows)·Σ|x_i·x_j| however many rows there are.
const gramRows = 256

// gramBuilder forms xᵀx with the gemm micro-kernel over the tiles of the
// upper triangle, split among workers by tile row. A block of x's rows is
// packed once, in both panel layouts the kernel reads, by one pass over
// its rows (packRows): reading x a row at a time, not a column panel at a
// time, keeps the reads contiguous where panels would read 4·in bytes apart.
type gramBuilder struct {
	kern  *kernel
	in    int
	w     []float32        // a block of x's rows packed as nr-channel panels
	a     []float32        // the same block as mr-channel panels
	tiles [][]float32      // per worker slot: a tile for the float64 accumulation, or a strip for sink
	acc   []float64        // xᵀx summed over blocks of gramRows rows
	zeros []float32        // the gemm kernel's bias
	job   job[gramBuilder] // the tile rows
	pack  job[gramBuilder] // spans of packSpan rows of the block
	cols  job[gramBuilder] // the mr-channel panels' column sums
	call  struct {
		g      []float32
		colSum []float64
		diag   []float32 // G_cc, for fuse
		sink   stripSink
		acc    bool // blocks summed in gb.acc
		add    bool // the block added to g in float32
		block  []float32
	}
}

func newGramBuilder(kern *kernel, in int) *gramBuilder {
	gb := &gramBuilder{kern: kern, in: in, zeros: make([]float32, kern.nr)}
	return gb
}

// build sets the upper triangle (j ≥ i) of g (in×in, row-major) to xᵀx for
// x of [rows, in]; entries below the diagonal are left undefined. Up to
// gramRows rows the kernel writes g directly; beyond, the blocks of
// gramRows rows are summed in float64 and rounded once. If colSum is not
// nil, it is set to the column sums of x, formed while x is packed.
func (gb *gramBuilder) build(g []float32, colSum []float64, x []float32, workers int) {
	gb.form(g, colSum, x, workers)
}

// A stripSink takes a strip of G from fuse: rows i0 … i0+m-1, columns
// c0 … of G at strip[r·ld + c-c0].
type stripSink func(i0, m, c0 int, strip []float32, ld int)

// fuse forms the upper triangle of xᵀx for x of at most gramRows rows
// without storing it: each tile row is formed strip by strip (stripWidth
// columns of tiles, formed into the worker's scratch while it stays in L1)
// and handed to sink: rows i0 … i0+m-1, columns c0 … min(in, c0+ld)-1 of
// G at strip[r·ld + c-c0], those left of the diagonal undefined. One
// worker forms a tile row, its strips left to right. colSum is set to
// Σ_t x_tc and diag to G's diagonal (Σ_t x_tc² summed in float64, rounded
// once) before the first strip, so sink may read them for any channel.
func (gb *gramBuilder) fuse(colSum []float64, diag []float32, x []float32, workers int, sink stripSink) {
	if len(x)/gb.in > gramRows {
		panic("gramBuilder.fuse: more than gramRows rows")
	}
	gb.call.sink, gb.call.diag = sink, diag
	gb.form(nil, colSum, x, workers)
	gb.call.sink, gb.call.diag = nil, nil
}

// stripWidth returns the columns of a strip of fuse: whole tiles, about
// 256 columns, so a strip of mr rows stays in L1 beside its rows of H.
func (gb *gramBuilder) stripWidth() int { return gb.kern.nr * max(1, 256/gb.kern.nr) }

// add adds xᵀx to the upper triangle of g, for x of at most gramRows
// rows: its entries are formed as in build, then added to g in float32.
// A Gram matrix summed block by block this way needs no float64 copy.
func (gb *gramBuilder) add(g, x []float32, workers int) {
	gb.call.add = true
	gb.form(g, nil, x, workers)
	gb.call.add = false
}

func (gb *gramBuilder) form(g []float32, colSum []float64, x []float32, workers int) {
	mr, nr, in := gb.kern.mr, gb.kern.nr, gb.in
	rows := len(x) / in
	block := min(rows, gramRows)
	if size := block * panels(in, nr) * nr; len(gb.w) < size {
		gb.w = make([]float32, size)
	}
	if size := block * panels(in, mr) * mr; len(gb.a) < size {
		gb.a = make([]float32, size)
	}
	for len(gb.tiles) < workers {
		gb.tiles = append(gb.tiles, nil)
	}
	for s := range gb.tiles[:workers] {
		if size := mr * gb.stripWidth(); len(gb.tiles[s]) < size {
			gb.tiles[s] = make([]float32, size)
		}
	}
	gb.call.g, gb.call.acc, gb.call.colSum = g, rows > gramRows, colSum
	clear(colSum)
	if gb.call.acc {
		if len(gb.acc) < in*in {
			gb.acc = make([]float64, in*in)
		}
		clear(gb.acc)
	}
	for r0 := 0; r0 < rows; r0 += gramRows {
		gb.call.block = x[r0*in : min(rows, r0+gramRows)*in]
		gb.pack.do(panels(len(gb.call.block)/in, packSpan), workers, (*gramBuilder).packRows, gb)
		if colSum != nil || gb.call.diag != nil {
			gb.cols.do(panels(in, mr), workers, (*gramBuilder).columnSums, gb)
		}
		gb.job.do(panels(in, mr), workers, (*gramBuilder).tileRow, gb)
	}
	if gb.call.acc {
		for i := range in {
			for j := i; j < in; j++ {
				g[i*in+j] = float32(gb.acc[i*in+j])
			}
		}
	}
	gb.call.g, gb.call.block, gb.call.colSum = nil, nil, nil
}

// packSpan is the rows a pack job item takes: its writes to a panel are
// packSpan contiguous rows.
const packSpan = 16

// packRows packs rows [s·packSpan, …) of the current block into both panel
// layouts: row t of an nr-channel panel j holds x[t, j·nr : (j+1)·nr], of
// an mr-channel panel x[t, i·mr : (i+1)·mr], zero padded past in.
func (gb *gramBuilder) packRows(_, s int) {
	mr, nr, in := gb.kern.mr, gb.kern.nr, gb.in
	rows := len(gb.call.block) / in
	for t := s * packSpan; t < min(rows, (s+1)*packSpan); t++ {
		x := gb.call.block[t*in : (t+1)*in]
		packRow(gb.w, x, rows, t, nr)
		packRow(gb.a, x, rows, t, mr)
	}
}

// packRow writes row x (one token, in channels) as row t of every
// width-channel panel of panels holding rows rows each.
func packRow(panels []float32, x []float32, rows, t, width int) {
	c0 := 0
	for p := 0; c0 < len(x); p, c0 = p+1, c0+width {
		out := panels[(p*rows+t)*width : (p*rows+t+1)*width]
		n := copy(out, x[c0:])
		clear(out[n:])
	}
}

// columnSums adds the column sums of mr-channel panel i of the current
// block to colSum (if not nil) and, if asked for, sets its channels'
// entries of diag, in one pass over the panel.
func (gb *gramBuilder) columnSums(_, i int) {
	mr, in := gb.kern.mr, gb.in
	rows := len(gb.call.block) / in
	i0 := i * mr
	a := gb.a[i*rows*mr : (i+1)*rows*mr]
	m := min(mr, in-i0)
	var sum, sq [maxTile]float64
	for t := range rows {
		for c, v := range a[t*mr : t*mr+m] {
			sum[c] += float64(v)
			sq[c] += float64(v) * float64(v)
		}
	}
	if colSum := gb.call.colSum; colSum != nil {
		for c := range m {
			colSum[i0+c] += sum[c]
		}
	}
	if diag := gb.call.diag; diag != nil {
		for c := range m {
			diag[i0+c] = float32(sq[c])
		}
	}
}

// tileRow forms the upper-triangle tiles of tile row i (channels i·mr …).
func (gb *gramBuilder) tileRow(slot, i int) {
	mr, nr, in := gb.kern.mr, gb.kern.nr, gb.in
	rows := len(gb.call.block) / in
	i0 := i * mr
	a := gb.a[i*rows*mr : (i+1)*rows*mr]
	m := min(mr, in-i0)
	if gb.call.sink != nil {
		gb.stripRow(slot, i0, m, a)
		return
	}
	for j := i0 / nr; j < panels(in, nr); j++ {
		j0 := j * nr
		n := min(nr, in-j0)
		w := gb.w[j*rows*nr : (j+1)*rows*nr]
		if !gb.call.acc && !gb.call.add {
			off := i0*in + j0
			gb.kern.gemm(a, w, rows, gb.zeros, gb.call.g[off:off+(m-1)*in+n], in, m, n)
			continue
		}
		tile := gb.tiles[slot]
		gb.kern.gemm(a, w, rows, gb.zeros, tile, nr, m, n)
		for r := range m {
			first := max(0, i0+r-j0)
			if gb.call.add {
				row := gb.call.g[(i0+r)*in+j0:]
				for c := first; c < n; c++ {
					row[c] += tile[r*nr+c]
				}
				continue
			}
			row := gb.acc[(i0+r)*in+j0:]
			for c := first; c < n; c++ {
				row[c] += float64(tile[r*nr+c])
			}
		}
	}
}

// stripRow is tileRow for fuse: the tiles of rows i0 … i0+m-1 from the
// diagonal's panel on, formed strip by strip into the slot's scratch and
// handed to the sink.
func (gb *gramBuilder) stripRow(slot, i0, m int, a []float32) {
	nr, in := gb.kern.nr, gb.in
	rows := len(gb.call.block) / in
	ld := gb.stripWidth()
	strip := gb.tiles[slot][:m*ld]
	for c0 := i0 / nr * nr; c0 < in; c0 += ld {
		for j0 := c0; j0 < min(in, c0+ld); j0 += nr {
			n := min(nr, in-j0)
			w := gb.w[j0*rows : (j0/nr+1)*rows*nr]
			gb.kern.gemm(a, w, rows, gb.zeros, strip[j0-c0:], ld, m, n)
		}
		gb.call.sink(i0, m, c0, strip, ld)
	}
}
