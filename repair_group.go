package chanprune

// The fast route forms its products (the residual's, r·H_PP and xs·H) for
// a group of batches at once: each product then reads its packed weight
// once per group rather than once per batch, and runs on panels of up to
// 1024 rows instead of a batch's 128, which the products' own benchmark
// ran ~20% faster. A row of a product does not depend on the other rows
// of its call, and the groups depend on the batches' shapes alone, so a
// sweep's pairs and an evaluation group alike and agree bit for bit.

// repairGroupFloats bounds the floats of a group's centred rows (4 MiB):
// 1024 rows at in = 1024, fewer for wider layers; a group holds at least
// one batch.
const repairGroupFloats = 1 << 20

// group forms the products of the batches b0 … b1−1 and returns b1: as
// many batches as fit repairGroupFloats, at least one.
func (g *repairGram) group(batches [][]float32, b0 int) int {
	in, p, workers := g.e.in, g.p, g.e.workerCount()
	b1, rows := b0, 0
	g.first, g.starts = b0, g.starts[:0]
	for b1 < len(batches) && (b1 == b0 || (rows+len(batches[b1])/in)*in <= repairGroupFloats) {
		g.starts = append(g.starts, rows)
		rows += len(batches[b1]) / in
		b1++
	}
	g.xsAll = grow(g.xsAll, rows*in)
	for i, x := range batches[b0:b1] {
		shiftRows(g.xsAll[g.starts[i]*in:], x, g.mean)
	}
	g.hxRows = g.hxOf(b0, rows)
	g.rAll, g.zAll = grow(g.rAll, rows*p), grow(g.zAll, rows*p)
	if p == 0 {
		return b1
	}
	if g.resid != nil {
		g.cAll = grow(g.cAll, rows*p)
		g.resid.run(g.cAll, g.xsAll, workers)
	}
	for t := range rows {
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
	g.quad.run(g.zAll, g.rAll, workers)
	return b1
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
