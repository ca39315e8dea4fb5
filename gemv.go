package chanprune

// The small-T path of a product: a call of at most gemvMaxT tokens does
// 2·T flops per weight it reads, so it is bound by reading the weight, not
// by the FMA units. It streams each packed weight panel once (in the
// layer's format, widened in registers), with no packing per call beyond
// gathering the tokens' kept channels (T·depth floats, nothing beside the
// weight), and shares the output panels out among the workers.

// gemvMaxT is the most tokens the small-T path takes; larger calls run the
// blocked gemm (product.go).
const gemvMaxT = 8

// gemvPieceBytes is about the least weight one piece of the small-T path
// reads: less, and handing the piece to another worker costs more than it
// saves.
const gemvPieceBytes = 64 << 10

// small reports whether a call of tokens rows takes the small-T path: the
// kernel has small-T products (every kernel in the tables does).
func (p *product) small(tokens int) bool {
	return tokens <= gemvMaxT && len(p.kern.gemv32) > 0
}

// gemv computes the call's product on the small-T path.
func (call *productCall) gemv(workers int) {
	p := call.p
	depth := len(p.channels)
	x, ldx := call.call.x, call.call.width
	if ldx != depth {
		// Gather the kept channels: rows of depth floats in call.packed.
		size := call.tokens * depth
		if len(call.packed) < size {
			call.packed = make([]float32, size)
		}
		for t := range call.tokens {
			row, dst := x[t*ldx:], call.packed[t*depth:(t+1)*depth]
			for i, c := range call.call.channels {
				dst[i] = row[c]
			}
		}
		x, ldx = call.packed[:size], depth
	}
	call.call.x, call.call.width = x, ldx
	np := panels(p.out, p.kern.nr)
	bytes := p.format.size() * depth * np * p.kern.nr
	n := min(np, 4*workers, max(1, bytes/gemvPieceBytes))
	call.grid = pieceGrid{cp: (np + n - 1) / n, spans: 1, sp: 1}
	n = (np + call.grid.cp - 1) / call.grid.cp
	call.job.do(n, min(workers, n), (*productCall).gemvPiece, call)
}

// gemvPiece runs the small-T product on the output panels of piece k, each
// panel for groups of at most len(kern.gemv32) tokens.
func (call *productCall) gemvPiece(_, k int) {
	p := call.p
	kern, nr, depth := p.kern, p.kern.nr, len(p.channels)
	x, ldx, c := call.call.x, call.call.width, call.c
	most := len(kern.gemv32)
	for j := k * call.grid.cp; j < min((k+1)*call.grid.cp, panels(p.out, nr)); j++ {
		n := min(nr, p.out-j*nr)
		bias := p.bias[j*nr : (j+1)*nr]
		for t0 := 0; t0 < call.tokens; t0 += most {
			t := min(most, call.tokens-t0)
			xt := x[t0*ldx : (t0+t-1)*ldx+depth]
			ct := c[t0*p.out+j*nr : (t0+t-1)*p.out+j*nr+n]
			switch p.format {
			case Float32:
				kern.gemv32[t-1](xt, ldx, p.weight[j*depth*nr:(j+1)*depth*nr], depth, bias, ct, p.out, n)
			case BFloat16:
				kern.gemvBF16[t-1](xt, ldx, p.weight16[j*depth*nr:(j+1)*depth*nr], depth, bias, ct, p.out, n)
			case Float16:
				kern.gemvF16[t-1](xt, ldx, p.weight16[j*depth*nr:(j+1)*depth*nr], depth, bias, ct, p.out, n)
			}
		}
	}
}

// size returns the bytes of one weight in format f.
func (f WeightFormat) size() int {
	if f == Float32 {
		return 4
	}
	return 2
}

// widened returns the call's float32 copy of a 16-bit packed weight, for
// the gemm path, which multiplies float32 panels: widening per call keeps
// the layer at 2 bytes a weight, and at more than gemvMaxT tokens the
// widening (a read of 2 and a write of 4 bytes a weight, shared by the
// workers panel by panel) costs little beside the 2·T flops a weight. For a
// float32 layer it is the packed weight.
func (call *productCall) widened(workers int) []float32 {
	p := call.p
	if p.format == Float32 {
		return p.weight
	}
	if len(call.wide) < len(p.weight16) {
		call.wide = make([]float32, len(p.weight16))
	}
	np := panels(p.out, p.kern.nr)
	call.widen.do(np, min(workers, np), (*productCall).widenPanel, call)
	return call.wide[:len(p.weight16)]
}

// widenPanel widens panel j of the 16-bit weight into the call's copy.
func (call *productCall) widenPanel(_, j int) {
	p := call.p
	size := len(p.channels) * p.kern.nr
	p.kern.unpack16(call.wide[j*size:(j+1)*size], p.weight16[j*size:(j+1)*size], p.format)
}

// storeIn keeps p's packed weight in format f alone (pack16.go): Compact
// has rounded the values to f, so they are kept exactly.
func (p *product) storeIn(f WeightFormat) {
	if f == Float32 {
		return
	}
	p.format, p.weight16 = f, make([]uint16, len(p.weight))
	p.kern.pack16(p.weight16, p.weight, f)
	p.weight = nil
}
