package chanprune

// The small-T path of a product: a call of at most gemvMaxT tokens does
// 2·T flops per weight it reads, so it is bound by reading the weight (at
// T8 a 16-bit weight can make the FMAs the limit on a core with one
// 512-bit FMA a cycle). It streams each packed weight panel once (in the
// layer's format, widened in registers), with no packing per call beyond
// gathering the tokens' kept channels (T·depth floats, nothing beside the
// weight), and shares the output panels out among the workers, each
// worker taking the same run of them on every call first (job.doOwned),
// so that its part of the weight stays in the caches near its core.

// gemvMaxT is the most tokens the small-T path takes; larger calls run the
// blocked gemm (product.go).
const gemvMaxT = 8

// gemvPieceBytes is about the least weight one piece of the small-T path
// reads (a piece is whole panels, so at least one). Pieces are claimed one
// by one with a compare-and-swap, so small ones cost little, and they let
// the others take over the run of a worker that starts late: a parked
// pool worker took about 90 µs to start on the 2-vCPU VM of the
// benchmarks, a third of a 1024x4096 T1 call, and with the earlier pieces
// of a quarter of a worker's share the caller, its last piece claimed,
// ran on alone.
const gemvPieceBytes = 64 << 10

// small reports whether a call of tokens rows takes the small-T path.
func (p *product) small(tokens int) bool { return tokens <= gemvMaxT }

// gemv computes the call's product on the small-T path.
func (call *productCall) gemv(workers int) {
	p := call.p
	call.grid = p.gemvGrid()
	n := call.grid.pieces()
	slots := min(workers, n)
	if depth := len(p.channels); call.call.width != depth {
		// Each slot gathers the kept channels on its first piece (gemvRows).
		size := call.tokens * depth
		for len(call.gathered) < slots {
			call.gathered = append(call.gathered, gatheredRows{})
		}
		for s := range call.gathered[:slots] {
			g := &call.gathered[s]
			if len(g.x) < size {
				g.x = make([]float32, size)
			}
			g.done = false
		}
	}
	call.job.doOwned(n, slots, (*productCall).gemvPiece, call)
}

// gatheredRows is one slot's copy of a call's rows gathered to the kept
// channels (tokens rows of depth floats in x), made by the slot itself on
// its first piece: gathered by the caller alone, the rows were read by the
// other workers from the caller's cache, line by line, and a 4096x1024
// pruned0.2 T8 call on two workers took longer than the dense one (415
// against 343 µs, 296 µs from rows already compact); and the gather no
// longer delays the hand-out of the slots.
type gatheredRows struct {
	x    []float32
	done bool
}

// gemvRows returns the call's rows as the small-T kernels read them on the
// given slot, and their stride: x itself when its rows are the weight's
// channels, else the slot's gathered copy.
func (call *productCall) gemvRows(slot int) ([]float32, int) {
	depth := len(call.p.channels)
	x, ldx := call.call.x, call.call.width
	if ldx == depth {
		return x, ldx
	}
	g := &call.gathered[slot]
	if !g.done {
		for t := range call.tokens {
			row, dst := x[t*ldx:], g.x[t*depth:(t+1)*depth]
			for i, c := range call.call.channels {
				dst[i] = row[c]
			}
		}
		g.done = true
	}
	return g.x[:call.tokens*depth], depth
}

// gemvGrid cuts the weight panels into the pieces of the small-T path: runs
// of cp panels, each about gemvPieceBytes of weight or one panel.
func (p *product) gemvGrid() pieceGrid {
	np := panels(p.out, p.kern.nr)
	panelBytes := p.format.size() * len(p.channels) * p.kern.nr
	cp := max(1, min(np, gemvPieceBytes/max(1, panelBytes)))
	return pieceGrid{cp: cp, chunks: (np + cp - 1) / cp, spans: 1, sp: 1}
}

// gemvPiece runs the small-T product on the output panels of piece k, each
// panel for groups of at most len(kern.gemv32) tokens.
func (call *productCall) gemvPiece(slot, k int) {
	p := call.p
	kern, nr, depth := p.kern, p.kern.nr, len(p.channels)
	x, ldx := call.gemvRows(slot)
	c := call.c
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

// block returns rows [k0, k1) of weight panel j as float32, for the gemm
// of a piece on the given slot: the packed panel itself, or, for a 16-bit
// weight, that K block widened into the slot's scratch by the kernel's
// widening kernel. A block (at most kc rows of nr) stays in L2 while the
// piece's row panels use it, so the widening costs a read of the weight
// and no trip to memory beside the 2·T flops a weight, and the layer stays
// at 2 bytes a weight.
func (call *productCall) block(slot, j, k0, k1 int) []float32 {
	p := call.p
	nr, depth := p.kern.nr, len(p.channels)
	at := j*depth*nr + k0*nr
	if p.format == Float32 {
		return p.weight[at : at+(k1-k0)*nr]
	}
	w := call.blocks[slot][:(k1-k0)*nr]
	if p.format == BFloat16 {
		p.kern.widenBF16(w, p.weight16[at:at+len(w)])
	} else {
		p.kern.widenF16(w, p.weight16[at:at+len(w)])
	}
	return w
}

// growBlocks makes sure each of slots has a block's scratch, for a 16-bit
// weight.
func (call *productCall) growBlocks(slots int) {
	p := call.p
	if p.format == Float32 {
		return
	}
	size := (len(p.channels) + p.kBlocks() - 1) / p.kBlocks() * p.kern.nr
	for len(call.blocks) < slots {
		call.blocks = append(call.blocks, nil)
	}
	for s, b := range call.blocks[:slots] {
		if len(b) < size {
			call.blocks[s] = make([]float32, size)
		}
	}
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
