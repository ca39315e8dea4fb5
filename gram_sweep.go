package chanprune

import "slices"

// The Gram path of a sweep: with the channels of a
// score set in pruning order π, the pruned sets of its ratios are nested
// prefixes of π, so y·d and ‖d‖² grow channel by channel:
//
//	y·d(k)  = y·d(k−1) + c_{π_{k−1}} + u_{π_{k−1}}·s_{π_{k−1}}
//	‖d‖²(k) = ‖d‖²(k−1) + M_{qq} + 2·Σ_{i<k−1} M_{π_i q},  q = π_{k−1}, M = H⊙G
//
// after the c_j and ‖y‖² that every set shares. Each pair (i, j) of
// channels belongs to the one of the two ranked later in π: its share of
// ‖d‖², lower[j], is M_jj plus twice the entries of row j of M ranked
// before j. M is symmetric, so the sweep reads its upper triangle once,
// strip by strip as the gemm forms G (sweepStrip), never storing G: row
// i's entries right of the diagonal go to row i's sums and, by column
// adds, to their columns' (lowerSplit, contractSplit). The column adds of a
// band of tile rows go to the band's own partial sums, and a channel's sum
// is the bands' added in band order plus its row's, so the sums do not
// depend on which worker formed which band: one worker forms the bands in
// that order and adds each as it completes (moveBand), while its column
// sums are still in L2; several add them all after the batch.

// sweepBands is the most bands (tileBands) a batch's triangle is cut into:
// enough for the workers of a large machine to share one batch, few enough
// that adding up the bands' column sums costs little beside the batch.
const sweepBands = 16

// sweepAlign is the column that the segments of the rows a strip's
// diagonal cuts start on a multiple of (sweepStrip), each row leaving out
// its entries up to its diagonal: a cache line of float32, so that the
// kernel's loads and its column sums' loads and stores do not straddle
// two. Started one past each row's diagonal instead, those rows took 1.5
// times as long an entry as the others.
const sweepAlign = 16

// sweepColsBudget bounds the bands' column sums, in float64s: with many
// score sets a wide layer gets fewer bands.
const sweepColsBudget = 4 << 20

// sweepGram is the Gram state of one batch of a sweep: the row sums every
// pair shares and every pair's sums. A stream has one; a sweep of small
// batches one per worker (sweep_side.go).
type sweepGram struct {
	*gramScratch
	s       *Stream
	c       []float64   // per channel j: Σ_i H_ij·G_ij
	w       []float64   // per channel j: Σ_i w_ij, the variance proxies of row j (gram_certify.go)
	lower   [][]float64 // per score set: each channel's share of ‖d‖²
	mdiag   []float64   // per channel j: M_jj rounded to float32, lower's diagonal
	wdiag   []float64   // per channel j: w_jj, its term of w_j (splitVariances)
	factors []float64   // per channel i: fg and fh of row i's w_ij (sweepStrip)
	terms   []chanTerms // per channel: its terms of gramSet's sums besides lower
	bands   []int       // the tile rows' bands (tileBands)
	bandOf  []int       // per tile row: its band
	cols    []float64   // per band: (2 + sets)·in column sums, zero between batches
	// per band, its column sums in cols: Σ v_ij, Σ w_ij, then each score
	// set's shares of ‖d‖², over the band's rows i < j
	bandCols [][][]float64
	colSets  int // the score sets that bandCols is laid out for
	// per channel, then score set: the row's share of ‖d‖² of its entries
	// ranked before it (sweepStrip), which addBands adds to lower
	rowLower []float64
	inOrder  bool      // one worker forms the bands, in order: each is added as it completes (sweepStrip)
	keep     bool      // store G's upper triangle in g (recheck)
	g        []float32 // G's upper triangle, in×in row-major, if keep
	sink     stripSink // sweepStrip
	yy       float64   // ‖y‖²
	us       float64   // u·s
	tb       float64   // T·‖b‖²
	r, a     float64   // Σ_j r_j and Σ_j H_jj·G_jj over all channels (sweepVariance)
	dw       float64   // Σ_j w_jj over all channels (splitVariances)
	nGH      float64   // nG+nH (gram_certify.go)
	cur      []sums    // per point: the batch's sums
	bad      []bool    // per point: its sums are not certified
}

func newSweepGram(s *Stream, scratch *gramScratch) *sweepGram {
	sg := &sweepGram{gramScratch: scratch, s: s}
	sg.sink = sg.sweepStrip
	return sg
}

// sweepBandCount returns how many bands a sweep of sets score sets cuts
// an in-channel triangle of tiles of mr rows into.
func sweepBandCount(in, mr, sets int) int {
	return max(1, min(sweepBands, panels(in, mr), sweepColsBudget/((2+sets)*setStride(in))))
}

// sweepColsLen returns the length of a sweep's band column sums for sets
// score sets (bands bands of 2+sets sums of in channels, setStride(in)
// apart).
func sweepColsLen(in, sets, bands int) int { return bands * (2 + sets) * setStride(in) }

// setStride is how far apart, in entries, lowerSplitSets finds the score
// sets' ranks and column sums of in channels: in rounded up to 32, plus
// 16, so that no two of the first 32 sets lie a multiple of 4 KiB apart,
// whose loads and stores the CPU would take to alias (4K aliasing: sets
// exactly in = 1024 entries apart made the AVX-512 pass a fifth slower).
func setStride(in int) int { return (in+31)/32*32 + 16 }

// ready sizes sg for s's score sets and points.
func (sg *sweepGram) ready() {
	e, s := sg.e, sg.s
	in, sets := e.in, len(s.names)
	if sg.c == nil {
		sg.c = make([]float64, in)
		sg.w = make([]float64, in)
		sg.mdiag = make([]float64, in)
		sg.wdiag = make([]float64, in)
		sg.factors = make([]float64, 2*in)
		sg.terms = make([]chanTerms, in)
	}
	for len(sg.lower) < sets {
		sg.lower = append(sg.lower, make([]float64, in))
	}
	sg.bands = tileBands(sg.bands, in, e.kern.mr, sweepBandCount(in, e.kern.mr, sets))
	sg.bandOf = slices.Grow(sg.bandOf[:0], sg.bands[len(sg.bands)-1])
	for b := range len(sg.bands) - 1 {
		for range sg.bands[b+1] - sg.bands[b] {
			sg.bandOf = append(sg.bandOf, b)
		}
	}
	if size := sweepColsLen(in, sets, len(sg.bands)-1); len(sg.cols) != size || sg.colSets != sets {
		sg.colSets = sets
		sg.cols = slices.Grow(sg.cols[:0], size)[:size]
		clear(sg.cols) // then zero after each batch (addBands)
		sg.bandCols = sg.bandCols[:0]
		for b := range len(sg.bands) - 1 {
			var cols [][]float64
			for k := range 2 + sets {
				at := (b*(2+sets) + k) * setStride(in)
				cols = append(cols, sg.cols[at:at+in])
			}
			sg.bandCols = append(sg.bandCols, cols)
		}
	}
	n := in * sets
	sg.rowLower = slices.Grow(sg.rowLower[:0], n)[:n]
	sg.cur = slices.Grow(sg.cur[:0], len(s.points))[:len(s.points)]
	sg.bad = slices.Grow(sg.bad[:0], len(s.points))[:len(s.points)]
}

// observeGram evaluates every pair on one batch from its Gram matrix. A
// stream of one pair (the CLI's eval) contracts the batch as Evaluate does;
// more pairs share the batch's row and column sums (sweepGram). Neither
// stores G.
func (s *Stream) observeGram(batch []float32) {
	e := s.e
	if len(s.points) == 1 {
		k := s.points[0].NumPruned
		splitChannels(e.perm, s.orders[0], k, e.pruned)
		e.setGramMask()
		sums, v := e.gram.batchSums(batch, k, e.workerCount())
		s.cur[0], s.uncertified[0] = sums, !certified(sums, v)
	} else {
		if s.gram == nil {
			e.setGramMask() // builds H
			s.gram = newSweepGram(s, e.gram.gramScratch)
		}
		s.gram.ready()
		s.gram.observe(batch, e.workerCount())
		copy(s.cur, s.gram.cur)
		copy(s.uncertified, s.gram.bad)
	}
	s.redoUncertified()
}

// redoUncertified redoes on the direct path the pairs whose Gram sums are
// not certified, unless the Gram path is forced (then they are counted).
func (s *Stream) redoUncertified() {
	if s.e.method == Gram {
		return
	}
	for i, bad := range s.uncertified {
		if bad {
			s.observePoint(i)
			s.uncertified[i] = false
			s.ran[i] = Direct
		}
	}
}

// observe sets sg.cur and sg.bad for every pair on batch x, G formed and
// summed strip by strip (sweepStrip) on workers workers, then score set by
// score set (gramSet).
func (sg *sweepGram) observe(x []float32, workers int) {
	e := sg.e
	clear(sg.part)
	clear(sg.rowLower)
	clear(sg.c)
	clear(sg.w)
	for _, l := range sg.lower[:len(sg.s.names)] {
		clear(l)
	}
	sg.inOrder = workers <= 1
	sg.us, sg.tb = sg.form(x, workers, sg.bands, sg.sink) // sg.cols are zero: moveBand

	sg.addBands()
	var hg float64
	sg.r, sg.a, sg.dw, sg.nGH = 0, 0, 0, sg.rounds+e.layerGram.rounds
	u := e.layerGram.u
	for j, c := range sg.c {
		t := chanTerms{yd: c + u[j]*sg.colSum[j], w: sg.w[j], a: e.layerGram.diag[j] * sg.diag[j], dw: sg.wdiag[j]}
		sg.terms[j] = t
		hg += c
		sg.r += t.w
		sg.dw += t.dw
		sg.a += t.a
	}
	sg.yy = hg + 2*sg.us + sg.tb
	for i := range sg.s.names {
		sg.gramSet(i)
	}
	sg.recheck(x, workers)
}

// sweepStrip is the sink (gramBuilder.fuse) of a sweep: for each row i of
// the strip it adds the entries of M on and right of the diagonal to row
// i's sums (c, w and, for each score set that may prune channel i, the
// share of ‖d‖² of the entries ranked before i) and those right of it to
// their columns' sums in the band's partials. The rows above c0 lie
// wholly right of the diagonal and share the strip's columns: one kernel
// call splits them all. The rows the diagonal cuts take their diagonal
// entries here and the entries right of them in one more call, from the
// sweepAlign boundary at or before the first one's diagonal, each row
// leaving out the entries up to its own.
func (sg *sweepGram) sweepStrip(i0, m, c0 int, strip []float32, ld int) {
	lg, in := sg.e.layerGram, sg.e.in
	end := min(in, c0+ld)
	for i := i0; i < i0+m; i++ { // the rows' factors fg and fh
		sg.factors[2*i], sg.factors[2*i+1] = sg.rounds*sg.diag[i], lg.rounds*lg.diag[i]
	}
	whole := min(m, max(0, c0-i0))
	if whole > 0 {
		sg.splitRows(i0, whole, c0, end, 0, 0, strip, ld)
	}
	cut := min(m, end-i0) // the rows through the diagonal: i0+whole … i0+cut-1
	for r := whole; r < cut; r++ {
		i := i0 + r
		hv, gv := lg.h[i*in+i], strip[r*ld+i-c0]
		p := &sg.part[i]
		p[0] += float64(hv) * float64(gv)
		// w_ii from the diagonals, as Evaluate's contraction forms it
		hd, gd := lg.diag[i], sg.diag[i]
		sg.wdiag[i] = (sg.factors[2*i]*hd + sg.factors[2*i+1]*gd) * hd * gd
		p[2] += sg.wdiag[i]
		sg.mdiag[i] = float64(hv * gv)
		if sg.keep {
			sg.g[i*in+i] = gv
		}
	}
	if i := i0 + whole; cut > whole {
		a := max(c0, (i+1)/sweepAlign*sweepAlign)
		sg.splitRows(i, cut-whole, a, end, i+1-a, 1, strip[whole*ld+a-c0:], ld)
	}
	t := i0 / sg.e.kern.mr
	if b := sg.bandOf[t]; sg.inOrder && end == in && t == sg.bands[b+1]-1 { // the band's last strip
		sg.moveBand(b)
	}
}

// splitRows hands rows i … i+rows-1 of M to the sweepSplit kernel in one
// call: columns start … end-1, of which row i leaves out the first lead
// and each next row shift more; G's entries at g, ld apart (the strip),
// H's in layerGram.h. Every set splits every row, also one ranked at or
// past the most channels a ratio prunes: its sum is never read, nor are
// the column adds, which go to channels ranked later still. The rows'
// ranks are their belows.
func (sg *sweepGram) splitRows(i, rows, start, end, lead, shift int, g []float32, ld int) {
	e, s := sg.e, sg.s
	lg, in := e.layerGram, e.in
	b := sg.bandOf[i/e.kern.mr]
	cols := sg.bandCols[b]
	sets := len(s.names)
	stride := setStride(in)
	setCols := sg.cols[(b*(2+sets)+2)*stride:] // cols[2:] as one slice
	n := end - start
	if sg.keep {
		for r := range rows {
			o := sweepLead(n, lead, shift, r)
			copy(sg.g[(i+r)*in+start+o:], g[r*ld+o:r*ld+n])
		}
	}
	e.kern.sweepSplit(lg.h[i*in+start:i*in+end], g[:n], lg.diag[start:end], sg.diag[start:end], sg.factors[2*i:2*(i+rows)],
		cols[0][start:end], cols[1][start:end], sg.part[i:i+rows], s.rankBuf[start:], s.rowRanks[i*sets:(i+1)*sets],
		setCols[start:], stride, sg.rowLower[i*sets:(i+1)*sets], in, ld, lead, shift)
}

// moveBand adds band b's column sums to the channels' (c, w, lower) and
// zeroes them for the next batch.
func (sg *sweepGram) moveBand(b int) {
	in, mr, moveAdd := sg.e.in, sg.e.kern.mr, sg.e.kern.moveAdd
	j0 := min(in, sg.bands[b]*mr+1) // the band's columns right of its first row
	cols := sg.bandCols[b]
	moveAdd(sg.c[j0:], cols[0][j0:])
	moveAdd(sg.w[j0:], cols[1][j0:])
	for set, l := range sg.lower[:len(sg.s.names)] {
		moveAdd(l[j0:], cols[2+set][j0:])
	}
}

// addBands completes the channels' sums: the bands' column sums, band after
// band, unless sweepStrip added them as they completed, then the rows'
// (gramScratch.part, rowLower).
func (sg *sweepGram) addBands() {
	if !sg.inOrder {
		for b := range len(sg.bands) - 1 {
			sg.moveBand(b)
		}
	}
	sets := len(sg.s.names)
	for j, p := range sg.part {
		sg.c[j] += p[0]
		sg.w[j] += p[2]
		for set, v := range sg.rowLower[j*sets : (j+1)*sets] {
			l := sg.lower[set]
			l[j] = sg.mdiag[j] + 2*(l[j]+v)
		}
	}
}

// chanTerms is what a pruned channel q adds to gramSet's sums besides its
// share of ‖d‖², the same for every score set: c_q + u_q·s_q to y·d, r_q,
// H_qq·G_qq and w_qq, side by side so that a channel's are one load away.
type chanTerms struct{ yd, w, a, dw float64 }

// gramSet evaluates score set i at each of its ratios.
func (sg *sweepGram) gramSet(i int) {
	e, s := sg.e, sg.s
	in := e.in
	order, lower := s.orders[i], sg.lower[i]
	var yd, dd float64
	var w, a, dw float64 // Σ r_q, Σ H_qq·G_qq and Σ w_qq over the pruned channels q
	k := 0
	for _, r := range s.byK {
		p := i*len(s.ratios) + r
		for want := s.points[p].NumPruned; k < want; k++ {
			q := int(order[k])
			t := &sg.terms[q]
			dd += lower[q]
			yd += t.yd
			w += t.w
			a += t.a
			dw += t.dw
		}
		sg.cur[p] = gramSums(sg.yy, yd, dd, k == in, sg.us, sg.tb)
		sg.bad[p] = !sg.sweepCertified(sg.cur[p], w, a, dw)
	}
}
