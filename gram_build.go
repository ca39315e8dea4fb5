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
// upper triangle, split among workers by tile row. x is packed once, in
// both panel layouts the kernel reads, by one pass over its rows
// (packRows): reading x a row at a time, not a column panel at a time,
// keeps the reads contiguous where panels would read 4·in bytes apart.
type gramBuilder struct {
	kern  *kernel
	in    int
	w     []float32        // x's rows as nr-channel panels, block after block of gramRows rows
	a     []float32        // the same as mr-channel panels
	tiles [][]float32      // per worker slot: a strip for the sink, or a tile for add
	wide  [][]float64      // per worker slot: a strip summed over the blocks (fuse, over gramRows rows)
	sums  [][]float64      // per worker slot: a panel's column sums, then their squares' (fuse)
	zeros []float32        // the gemm kernel's bias
	job   job[gramBuilder] // the tile rows
	pack  job[gramBuilder] // spans of packSpan rows of a block
	cols  job[gramBuilder] // the nr-channel panels' column sums
	call  struct {
		g      []float32 // add: the upper triangle that the block is added to
		colSum []float64
		diag   []float64 // G_cc, for fuse
		sink   stripSink
		bands  []int     // fuse's bands, if any
		x      []float32 // all the rows
		block  int       // the block being packed
	}
}

func newGramBuilder(kern *kernel, in int) *gramBuilder {
	gb := &gramBuilder{kern: kern, in: in, zeros: make([]float32, kern.nr)}
	return gb
}

// A stripSink takes a strip of G from fuse: rows i0 … i0+m-1, columns
// c0 … of G at strip[r·ld + c-c0].
type stripSink func(i0, m, c0 int, strip []float32, ld int)

// fuse forms the upper triangle of xᵀx, for x of one row or more,
// without storing it: each tile row is formed strip by strip (stripWidth
// columns of tiles, formed into the worker's scratch while it stays in L1)
// and handed to sink: rows i0 … i0+m-1, columns c0 … min(in, c0+ld)-1 of
// G at strip[r·ld + c-c0], those left of the diagonal undefined. One
// worker forms a tile row, its strips left to right. An entry is a float32
// dot product over each block of gramRows rows; over gramRows rows, the
// blocks' products are summed in float64 (in the slot's wide strip) and
// rounded once, which bounds its error by γ(gramRows)·Σ|x_i·x_j| however
// many rows there are. colSum is set to Σ_t x_tc and diag to G's
// diagonal (Σ_t x_tc² summed in float64, rounded once to float32 as G's
// other entries are, held as float64 for the Gram kernels) before the
// first strip, so sink may read them for any channel. With bands (tileBands),
// one worker forms the tile rows of a band, in order, so that sink may
// keep state per band; without (nil), each tile row is an item of work.
func (gb *gramBuilder) fuse(colSum, diag []float64, x []float32, workers int, bands []int, sink stripSink) {
	mr, in := gb.kern.mr, gb.in
	rows := len(x) / in
	gb.scratch(rows, workers)
	if rows > gramRows {
		for len(gb.wide) < workers {
			gb.wide = append(gb.wide, nil)
		}
		for s := range gb.wide[:workers] {
			if size := mr * gb.stripWidth(); len(gb.wide[s]) < size {
				gb.wide[s] = make([]float64, size)
			}
		}
	}
	gb.call.x, gb.call.colSum, gb.call.diag, gb.call.sink, gb.call.bands = x, colSum, diag, sink, bands
	for b := range panels(rows, gramRows) {
		gb.call.block = b
		gb.pack.do(panels(min(rows-b*gramRows, gramRows), packSpan), workers, (*gramBuilder).packRows, gb)
	}
	gb.cols.do(panels(in, gb.kern.nr), workers, (*gramBuilder).columnSums, gb)
	if bands != nil {
		gb.job.do(len(bands)-1, workers, (*gramBuilder).stripBand, gb)
	} else {
		gb.job.do(panels(in, mr), workers, (*gramBuilder).stripRow, gb)
	}
	gb.call.x, gb.call.colSum, gb.call.diag, gb.call.sink, gb.call.bands = nil, nil, nil, nil, nil
}

// tileBands cuts the tile rows of an in×in upper triangle (tiles of mr
// rows) into at most n bands of about equal area, for fuse, in dst's
// memory: bands[b] is band b's first tile row, bands[len(bands)-1] the
// number of tile rows.
func tileBands(dst []int, in, mr, n int) []int {
	rows := panels(in, mr)
	n = max(1, min(n, rows))
	area := func(t int) int { return in - t*mr } // columns from the diagonal on
	total := 0
	for t := range rows {
		total += area(t)
	}
	bands := append(dst[:0], 0)
	done := 0
	for t := range rows {
		done += area(t)
		if len(bands) < n && done*n >= len(bands)*total {
			bands = append(bands, t+1)
		}
	}
	if bands[len(bands)-1] != rows {
		bands = append(bands, rows)
	}
	return bands
}

// stripBand forms the tile rows of band b (fuse), in order.
func (gb *gramBuilder) stripBand(slot, b int) {
	for i := gb.call.bands[b]; i < gb.call.bands[b+1]; i++ {
		gb.stripRow(slot, i)
	}
}

// stripWidth returns the columns of a strip of fuse: whole tiles, about
// 256 columns, so a strip of mr rows stays in L1 beside its rows of H.
func (gb *gramBuilder) stripWidth() int { return gb.kern.nr * max(1, 256/gb.kern.nr) }

// scratch makes room for rows rows packed and the workers' strips.
func (gb *gramBuilder) scratch(rows, workers int) {
	mr, nr, in := gb.kern.mr, gb.kern.nr, gb.in
	// The blocks as block lays them out: each full one panelRows(gramRows)
	// rows, then the last one's.
	blocks := max(1, panels(rows, gramRows))
	laid := (blocks-1)*panelRows(gramRows) + panelRows(rows-(blocks-1)*gramRows)
	if size := laid * panels(in, nr) * nr; len(gb.w) < size {
		gb.w = make([]float32, size)
	}
	if size := laid * panels(in, mr) * mr; len(gb.a) < size {
		gb.a = make([]float32, size)
	}
	for len(gb.tiles) < workers {
		gb.tiles = append(gb.tiles, nil)
		gb.sums = append(gb.sums, make([]float64, 2*nr))
	}
	for s := range gb.tiles[:workers] {
		if size := mr * gb.stripWidth(); len(gb.tiles[s]) < size {
			gb.tiles[s] = make([]float32, size)
		}
	}
}

// add adds xᵀx to the upper triangle of g, for x of at most gramRows
// rows: each entry a float32 dot product, added to g in float32. A Gram
// matrix summed block by block this way needs no float64 copy.
func (gb *gramBuilder) add(g, x []float32, workers int) {
	if len(x)/gb.in > gramRows {
		panic("gramBuilder.add: more than gramRows rows")
	}
	gb.scratch(len(x)/gb.in, workers)
	gb.call.x, gb.call.g = x, g
	gb.pack.do(panels(len(x)/gb.in, packSpan), workers, (*gramBuilder).packRows, gb)
	gb.job.do(panels(gb.in, gb.kern.mr), workers, (*gramBuilder).addTileRow, gb)
	gb.call.x, gb.call.g = nil, nil
}

// blockRows returns the first row and the number of rows of block b of x.
func (gb *gramBuilder) blockRows(b int) (r0, rows int) {
	r0 = b * gramRows
	return r0, min(len(gb.call.x)/gb.in-r0, gramRows)
}

// block returns block b of a packed layout (w or a) of width channels a
// row, and its rows: its panel p, the rows of channels p·width …
// (p+1)·width-1, is rows·width floats at p·panelRows(rows)·width.
func (gb *gramBuilder) block(packed []float32, width, b int) (blk []float32, rows int) {
	_, rows = gb.blockRows(b)
	n := panels(gb.in, width) * width
	start := b * panelRows(gramRows) * n
	return packed[start : start+panelRows(rows)*n], rows
}

// panel returns panel p of block b of a packed layout of width channels a
// row (block).
func (gb *gramBuilder) panel(packed []float32, width, b, p int) []float32 {
	blk, rows := gb.block(packed, width, b)
	at := p * panelRows(rows) * width
	return blk[at : at+rows*width]
}

// panelRows returns the rows a panel of a block of rows rows is laid out
// for: one more than it holds. Without the spare row the panels of a
// 128-row batch lay a multiple of 1 KiB apart (8 KiB for AVX2's 16
// channels, 3 KiB for its 6), so a row's writes to them fell in one to
// four sets of the L1 cache and evicted the lines the rows before had
// partly filled: packGram took 1.6 times as long (BenchmarkPackGram).
func panelRows(rows int) int { return rows + 1 }

// packSpan is the rows a pack job item takes: its writes to a panel are
// packSpan contiguous rows.
const packSpan = 16

// packRows packs rows [s·packSpan, …) of the current block into both panel
// layouts: row t of the block's nr-channel panel j holds
// x[t, j·nr : (j+1)·nr], of its mr-channel panel x[t, i·mr : (i+1)·mr],
// zero padded past in. The kernel packs the whole panels (packGram).
func (gb *gramBuilder) packRows(_, s int) {
	mr, nr, in := gb.kern.mr, gb.kern.nr, gb.in
	r0, _ := gb.blockRows(gb.call.block)
	w, rows := gb.block(gb.w, nr, gb.call.block)
	a, _ := gb.block(gb.a, mr, gb.call.block)
	for t := s * packSpan; t < min(rows, (s+1)*packSpan); t++ {
		x := gb.call.x[(r0+t)*in : (r0+t+1)*in]
		gb.kern.packGram(a[t*mr:], w[t*nr:], x, panelRows(rows))
		packLast(w, x, panelRows(rows), t, nr)
		packLast(a, x, panelRows(rows), t, mr)
	}
}

// packLast writes row t of the last width-channel panel of block blk from
// row x, if x leaves that panel partial (packGramFunc leaves it to its
// caller): the channels x has, then zeros.
func packLast(blk []float32, x []float32, rows, t, width int) {
	p := len(x) / width
	if len(x) == p*width {
		return
	}
	out := blk[(p*rows+t)*width : (p*rows+t+1)*width]
	clear(out[copy(out, x[p*width:]):])
}

// columnSums sets the entries of colSum and diag of nr-channel panel j,
// summed by the kernel over every block's rows in token order
// (columnSumsFunc).
func (gb *gramBuilder) columnSums(slot, j int) {
	nr, in := gb.kern.nr, gb.in
	s, q := gb.sums[slot][:nr], gb.sums[slot][nr:]
	clear(gb.sums[slot])
	for b := range panels(len(gb.call.x)/in, gramRows) {
		gb.kern.columnSums(gb.panel(gb.w, nr, b, j), s, q)
	}
	j0 := j * nr
	for c := range min(nr, in-j0) {
		gb.call.colSum[j0+c], gb.call.diag[j0+c] = s[c], float64(float32(q[c]))
	}
}

// addTileRow adds the upper-triangle tiles of tile row i (channels i·mr …)
// of the block to g (add).
func (gb *gramBuilder) addTileRow(slot, i int) {
	mr, nr, in := gb.kern.mr, gb.kern.nr, gb.in
	_, rows := gb.blockRows(0)
	i0 := i * mr
	a := gb.panel(gb.a, mr, 0, i)
	m := min(mr, in-i0)
	tile := gb.tiles[slot]
	for j := i0 / nr; j < panels(in, nr); j++ {
		j0 := j * nr
		n := min(nr, in-j0)
		gb.kern.gemm(a, gb.panel(gb.w, nr, 0, j), rows, gb.zeros, tile, nr, m, n)
		for r := range m {
			row := gb.call.g[(i0+r)*in+j0:]
			for c := max(0, i0+r-j0); c < n; c++ {
				row[c] += tile[r*nr+c]
			}
		}
	}
}

// stripRow forms the tiles of tile row i (rows i0 … i0+m-1, i0 = i·mr)
// from the diagonal's panel on, strip by strip into the slot's scratch,
// summing the blocks' products in float64 if there are several, and hands
// each strip to the sink.
func (gb *gramBuilder) stripRow(slot, i int) {
	mr, nr, in := gb.kern.mr, gb.kern.nr, gb.in
	i0 := i * mr
	m := min(mr, in-i0)
	blocks := panels(len(gb.call.x)/in, gramRows)
	ld := gb.stripWidth()
	strip := gb.tiles[slot][:m*ld]
	for c0 := i0 / nr * nr; c0 < in; c0 += ld {
		end := min(in, c0+ld)
		for b := range blocks {
			// The panels' offsets step along, with no division a tile.
			a := gb.panel(gb.a, mr, b, i)
			w, rows := gb.block(gb.w, nr, b)
			size, stride := rows*nr, panelRows(rows)*nr
			for j0, p := c0, c0/nr*stride; j0 < end; j0, p = j0+nr, p+stride {
				gb.kern.gemm(a, w[p:p+size], rows, gb.zeros, strip[j0-c0:], ld, m, min(nr, in-j0))
			}
			if blocks > 1 {
				widenStrip(gb.wide[slot][:m*ld], strip, b == 0, m, ld, end-c0)
			}
		}
		if blocks > 1 {
			for k, v := range gb.wide[slot][:m*ld] {
				strip[k] = float32(v)
			}
		}
		gb.call.sink(i0, m, c0, strip, ld)
	}
}

// widenStrip sets (first block) or adds the m×n strip of one block's products
// to the float64 strip wide.
func widenStrip(wide []float64, strip []float32, first bool, m, ld, n int) {
	for r := range m {
		w, s := wide[r*ld:r*ld+n], strip[r*ld:r*ld+n]
		if first {
			for c, v := range s {
				w[c] = float64(v)
			}
			continue
		}
		for c, v := range s {
			w[c] += float64(v)
		}
	}
}
