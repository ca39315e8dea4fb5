package chanprune

// The fast route forms its products (the residual's, r·H_PP and xs·H) for
// a group of batches at once: each product then reads its packed weight
// once per group rather than once per batch, and runs on panels of up to
// 1024 rows instead of a batch's 128 (xs·H_{:,P} of the seed's shape
// alone, timed once: 158 against 194 GFLOP/s on two Zen 4 cores). A row of a product does not depend on the other rows
// of its call, and the groups depend on the batches' shapes alone, so a
// sweep's pairs and an evaluation group alike and agree bit for bit.

// repairGroupFloats bounds the floats of a group's centred rows (4 MiB):
// 1024 rows at in = 1024, fewer for wider layers; a group holds at least
// one batch.
const repairGroupFloats = 1 << 20

// group forms the products of the batches b0 … b1−1 and returns b1: as
// many batches as fit repairGroupFloats, at least one. What is per row or
// per batch (the centred rows, r, each batch's sums) is shared out among
// the workers a batch at a time, each batch's sums in one goroutine's
// order, so the results do not depend on the workers.
func (g *repairGram) group(batches [][]float32, b0 int) int {
	in, p, workers := g.e.in, g.p, g.e.workerCount()
	b1, rows := b0, 0
	g.first, g.starts = b0, g.starts[:0]
	for b1 < len(batches) && (b1 == b0 || (rows+len(batches[b1])/in)*in <= repairGroupFloats) {
		g.starts = append(g.starts, rows)
		rows += len(batches[b1]) / in
		b1++
	}
	n := b1 - b0
	g.grouped = batches[b0:b1]
	defer func() { g.grouped = nil }()
	g.xsAll = grow(g.xsAll, rows*in)
	g.groupJob.do(n, min(workers, n), (*repairGram).shiftBatch, g)
	g.hxRows = g.hxOf(b0, rows)
	g.rAll, g.zAll = grow(g.rAll, rows*p), grow(g.zAll, rows*p)
	if p > 0 {
		if g.resid != nil {
			g.cAll = grow(g.cAll, rows*p)
			g.resid.run(g.cAll, g.xsAll, workers)
		}
		g.groupJob.do(n, min(workers, n), (*repairGram).residBatch, g)
		g.quad.run(g.zAll, g.rAll, workers)
	}
	if cap(g.parts) < n {
		g.parts = make([]batchParts, n)
	}
	g.parts = g.parts[:n]
	g.groupJob.do(n, min(workers, n), (*repairGram).batchSums, g)
	return b1
}

// batchParts is what group forms for one batch: y·d and ‖d‖² of the fast
// route, and looseVariances' Σ (x·D½)² and Σ (r·D½_P)².
type batchParts struct{ yd, dd, xx, rr float64 }

// rowsOf returns the first row of batch i of the group and its rows.
func (g *repairGram) rowsOf(i int) (t0, tokens int) {
	return g.starts[i], len(g.grouped[i]) / g.e.in
}

// shiftBatch centres batch i of the group into g.xsAll.
func (g *repairGram) shiftBatch(_, i int) {
	t0, _ := g.rowsOf(i)
	shiftRows(g.xsAll[t0*g.e.in:], g.grouped[i], g.mean)
}

// residBatch forms r = xs_P + c (c = −xs_K·Cᵀ, none for bias) for the rows
// of batch i of the group.
func (g *repairGram) residBatch(_, i int) {
	in, p := g.e.in, g.p
	t0, tokens := g.rowsOf(i)
	for t := t0; t < t0+tokens; t++ {
		xs, r := g.xsAll[t*in:(t+1)*in], g.rAll[t*p:(t+1)*p]
		for j, c := range g.pruned {
			r[j] = xs[c]
		}
		if g.resid != nil {
			for j, v := range g.cAll[t*p : (t+1)*p] {
				r[j] += v
			}
		}
	}
}

// batchSums sets g.parts[i] for batch i of the group. Σ (x·D½)² depends on
// the batch alone: while shared, it is formed once per batch.
func (g *repairGram) batchSums(_, i int) {
	in, p := g.e.in, g.p
	t0, tokens := g.rowsOf(i)
	width, cols := p, g.colsP
	if g.hx.shared {
		width, cols = in, g.pruned
	}
	var pt batchParts
	for t := t0; t < t0+tokens; t++ {
		r, hx, z := g.rAll[t*p:(t+1)*p], g.hxRows[t*width:(t+1)*width], g.zAll[t*p:(t+1)*p]
		for j, v := range r {
			rv := float64(v)
			pt.dd += float64(z[j]) * rv
			pt.yd += (float64(hx[cols[j]]) + g.beta[j]) * rv
			h := float64(g.sqrtHP[j]) * rv
			pt.rr += h * h
		}
	}
	if g.xx.shared {
		xx, fresh := g.xx.slot(g.first+i, 1)
		if fresh {
			xx[0] = g.sumXX(g.grouped[i])
		}
		pt.xx = xx[0]
	} else {
		pt.xx = g.sumXX(g.grouped[i])
	}
	g.parts[i] = pt
}

// hxOf returns xs·H_{:,P} of the group whose first batch is b0 and which
// has rows rows, centred in g.xsAll: while shared all of xs·H, formed once
// per group, else the p columns alone (g.colsP in it).
func (g *repairGram) hxOf(b0, rows int) []float32 {
	in, workers := g.e.in, g.e.workerCount()
	if !g.hx.shared {
		hx, _ := g.hx.slot(b0, rows*g.p)
		if g.p > 0 {
			g.hpart.run(hx, g.xsAll, workers)
		}
		return hx
	}
	if g.hprod == nil {
		g.hprod = newProduct(g.e.kern, g.e.layerGram.h, nil, g.channels, in, in)
	}
	hx, fresh := g.hx.slot(b0, rows*in)
	if fresh {
		g.hprod.run(hx, g.xsAll, workers)
	}
	return hx
}

// sumXX returns Σ (x·D½)² of the rows x.
func (g *repairGram) sumXX(x []float32) float64 {
	var sum float64
	for t := 0; t < len(x); t += g.e.in {
		for c, v := range x[t : t+g.e.in] {
			h := float64(g.sqrtH[c]) * float64(v)
			sum += h * h
		}
	}
	return sum
}
