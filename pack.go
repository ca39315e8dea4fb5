package chanprune

// Packing lays the operands out in the order the micro-kernel reads them.

// panels returns how many panels of width w cover n.
func panels(n, w int) int { return (n + w - 1) / w }

// packWeight lays W ([out, in], row-major) out as panels of nr outputs: panel
// j holds, for every input channel c in order, W[j·nr : j·nr+nr, c], zero
// padded past out. Done once per layer; the kernels pick rows by channel.
func packWeight(dst, weight []float32, in, out, nr int) {
	clear(dst)
	for o := range out {
		j, jj := o/nr, o%nr
		panel := dst[j*in*nr:]
		for c, v := range weight[o*in : (o+1)*in] {
			panel[c*nr+jj] = v
		}
	}
}

// unpackWeightRow sets dst (len depth) to row o of a weight that packWeight
// laid out with depth channels: the inverse of packWeight for one output.
func unpackWeightRow(dst, packed []float32, o, depth, nr int) {
	panel := packed[(o/nr)*depth*nr:]
	for c := range dst[:depth] {
		dst[c] = panel[c*nr+o%nr]
	}
}

// packBias copies the bias (or zeros when there is none) into nr-padded form.
func packBias(dst, bias []float32) {
	clear(dst)
	copy(dst, bias)
}

// A rowLayout is how the rows of a batch are laid out in row panels: full
// panels of kern.mr rows, then tail panels of kern.tail.mr rows (none
// without a tail kernel). Only the last panel is padded, so the packed
// values of the panel starting at row r start at r·depth.
type rowLayout struct {
	kern        *kernel
	tokens      int
	full, tails int
}

// tailRowCost is what a row of a tail panel costs against a row of a full
// panel: the smaller tile does fewer FMAs per load.
const tailRowCost = 1.1

// newRowLayout lays tokens rows out for k: the count of full and tail
// panels with the least cost in padded rows, tail rows weighed by
// tailRowCost. 128 rows for 14-row panels with an 8-row tail are 8 full
// panels and 2 tails, none padded, instead of 10 full panels, 140 rows.
func newRowLayout(k *kernel, tokens int) rowLayout {
	l := rowLayout{kern: k, tokens: tokens, full: panels(tokens, k.mr)}
	if k.tail == nil || tokens%k.mr == 0 {
		return l
	}
	best := float64(l.full * k.mr)
	// Fewer full panels than tokens/mr - tail.mr repeat the same tail
	// remainders with more tail rows.
	for full := tokens / k.mr; full >= max(0, tokens/k.mr-k.tail.mr); full-- {
		tails := panels(tokens-full*k.mr, k.tail.mr)
		if cost := float64(full*k.mr) + tailRowCost*float64(tails*k.tail.mr); cost < best {
			best, l.full, l.tails = cost, full, tails
		}
	}
	return l
}

// count is the number of row panels.
func (l rowLayout) count() int { return l.full + l.tails }

// rows is the number of rows the panels hold, padding included.
func (l rowLayout) rows() int {
	if l.tails == 0 {
		return l.full * l.kern.mr
	}
	return l.full*l.kern.mr + l.tails*l.kern.tail.mr
}

// panel returns the kernel of panel i, whose mr is the panel's height, and
// its first row.
func (l rowLayout) panel(i int) (*kernel, int) {
	if i < l.full {
		return l.kern, i * l.kern.mr
	}
	return l.kern.tail, l.full*l.kern.mr + (i-l.full)*l.kern.tail.mr
}

// packActivations gathers x ([tokens, in], row-major) into the row panels
// of l holding the channels perm lists, in that order: the panel of height
// h at row r holds, for each p, x[r : r+h, perm[p]], zero padded past the
// last token. For an evaluation perm lists the kept channels, then the
// pruned ones: this is the column skipping, after which the kernels run
// over two contiguous ranges.
func packActivations(dst, x []float32, in int, l rowLayout, perm []int32) {
	for i := range l.count() {
		packActivationPanel(dst, x, in, l, perm, i)
	}
}

// maxMR bounds the row panel of every kernel (AVX-512's is 14).
const maxMR = 16

// packRowsMax is the most rows a packRowsFunc takes (asm/packrows.go).
const packRowsMax = 8

// packActivationPanel packs panel i of l alone, for callers that spread the
// panels over workers. It goes four channels at a time, their values
// each gathered from the panel's rows, so that the panel is written
// sequentially rather than in mr strided passes. Measured on 128 rows of
// 4096 (mr 14, one core): 0.7 ns a value against 3.0 (0.85 one channel at
// a time, 2.0 eight), which at the FMA peak is 5% instead of 24% of the
// time of a 4096→1024 product. Where the kernel table has packRows
// (amd64), it packs up to 8 rows a call instead, a load and a store a
// value: 0.20 against 0.67–0.76 ns a value for 14 rows of 1024 and 4096
// channels, 80% of them kept (one core, Zen 5).
func packActivationPanel(dst, x []float32, in int, l rowLayout, perm []int32, i int) {
	k, row := l.panel(i)
	mr, depth := k.mr, len(perm)
	panel := dst[row*depth : (row+mr)*depth]
	m := min(mr, l.tokens-row)
	if pack := l.kern.packRows; pack != nil && depth > 0 {
		for r := 0; r < m; r += packRowsMax {
			rows := min(packRowsMax, m-r)
			pack(panel[r:], x[(row+r)*in:(row+r+rows)*in], in, mr, perm, rows)
		}
		if m < mr { // the padding rows of a batch's last panel
			for p := range depth {
				clear(panel[p*mr+m : (p+1)*mr])
			}
		}
		return
	}
	var rowBuf [maxMR][]float32
	rows := rowBuf[:m]
	for r := range rows {
		t := row + r
		rows[r] = x[t*in : (t+1)*in]
	}
	p := 0
	for ; p+4 <= depth; p += 4 {
		c0, c1, c2, c3 := perm[p], perm[p+1], perm[p+2], perm[p+3]
		d := panel[p*mr : (p+4)*mr]
		for r, row := range rows {
			d[r] = row[c0]
			d[mr+r] = row[c1]
			d[2*mr+r] = row[c2]
			d[3*mr+r] = row[c3]
		}
		for q := range 4 {
			clear(d[q*mr+m : (q+1)*mr])
		}
	}
	for ; p < depth; p++ {
		c := perm[p]
		d := panel[p*mr : (p+1)*mr]
		for r, row := range rows {
			d[r] = row[c]
		}
		clear(d[m:])
	}
}
