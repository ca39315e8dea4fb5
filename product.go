package chanprune

import "sync"

// product computes C = x_S·W_Sᵀ + b for a weight packed once, where S is a
// fixed list of input channels gathered from each row of x: all of them for
// a dense layer, the kept ones for a pruned layer. It drives the gemm and
// gemmAcc micro-kernels over (row panel, column panel, K block) tiles, the
// tiles grouped in pieces (cutPieces: column chunks by row spans) that the
// worker pool shares out. The
// packed weight is read-only; each call takes its scratch from a free list,
// so calls may run concurrently and, in steady state, allocate nothing. The
// order of the sums is fixed by the shapes alone, whatever the workers.
type product struct {
	kern     *kernel
	channels []int32   // the channels of a full-width row that the weight's columns hold
	identity []int32   // 0 … len(channels)-1: rows already compacted
	in, out  int       // width of full rows; outputs
	weight   []float32 // packed weight panels (packWeight), len(channels) rows each; nil in a 16-bit format
	weight16 []uint16  // the same panels in format, a 16-bit one (storeIn)
	format   WeightFormat
	bias     []float32 // bias padded to whole panels
	kc       int       // the most rows of a K block: productKC (tests lower it)

	mu   sync.Mutex
	free []*productCall
}

// productCall is one call's scratch.
type productCall struct {
	p      *product
	packed []float32   // packed activations, grown as needed
	blocks [][]float32 // per slot, a K block of a 16-bit panel widened (gemv.go)
	c      []float32
	tokens int // rows of the call's x
	rows   rowLayout
	grid   pieceGrid
	job    job[productCall] // the pieces of grid
	pack   job[productCall] // the row panels
	call   struct {
		x        []float32
		width    int
		channels []int32
	}

	// per slot, the rows gathered to the kept channels on the small-T path (gemv.go)
	gathered []gatheredRows
}

// newProduct packs weight ([out, len(channels)], row-major) for kern.
func newProduct(kern *kernel, weight, bias []float32, channels []int32, in, out int) *product {
	if kern.mr > maxMR {
		panic("newProduct: row panel wider than maxMR")
	}
	depth := len(channels)
	np := panels(out, kern.nr)
	p := &product{
		kern: kern, channels: channels, in: in, out: out, kc: productKC,
		identity: allChannels(make([]int32, depth)),
		weight:   make([]float32, np*kern.nr*depth),
		bias:     make([]float32, np*kern.nr),
	}
	packWeight(p.weight, weight, depth, out, kern.nr)
	packBias(p.bias, bias)
	return p
}

// The blocking of the product (BLIS-style, without repacking: a K block of
// a packed panel is itself a packed panel). A piece runs, for each K
// block, for each column panel j of its chunk, for each row panel i of its
// span, the
// kernel on rows [k0, k1) of a's panel i and w's panel j: gemm (with bias)
// on the first block, gemmAcc on the others.
//
// The constants are chosen for these reasons (paired timings are in the
// commit history):
//
//   - kc = 512 keeps a K block of the w panel and the chunk's a blocks in
//     a 2 MB L2, so each K block of a comes from L3 once per chunk instead
//     of once per column panel; 256 to 512 differ by 1-2%, deep layers
//     (depth 4096) unblocked are slower by a few percent.
//   - the loop order (K block, j, i) keeps the w block in L2 across the row
//     panels; (K block, i, j) measured the same.
//   - chunks of 64 outputs rather than the evaluator's 256 give more chunks
//     than workers even for 1024 outputs, which keeps the workers even when
//     one runs slow.
const (
	productKC           = 512
	productChunkOutputs = 64
)

// run sets c ([tokens, out]) to the product for full-width rows x
// ([tokens, in]) on the given number of workers.
func (p *product) run(c, x []float32, workers int) { p.do(c, x, p.in, p.channels, workers) }

// runCompact is run for rows already compacted to the weight's channels
// ([tokens, len(channels)]).
func (p *product) runCompact(c, x []float32, workers int) {
	p.do(c, x, len(p.channels), p.identity, workers)
}

func (p *product) do(c, x []float32, width int, channels []int32, workers int) {
	call := p.get()
	defer p.put(call)
	call.tokens = len(x) / width
	call.c = c
	call.call.x, call.call.width, call.call.channels = x, width, channels
	if p.small(call.tokens) {
		call.gemv(workers)
		call.c, call.call.x = nil, nil
		return
	}
	call.rows = newRowLayout(p.kern, call.tokens)
	size := call.rows.rows() * len(channels)
	if len(call.packed) < size {
		call.packed = make([]float32, size)
	}
	rowPanels := call.rows.count()
	call.pack.do(rowPanels, min(workers, rowPanels), (*productCall).packPanel, call)
	call.grid = cutPieces(panels(p.out, p.kern.nr), rowPanels, p.chunkPanels(),
		float64(call.rows.tokens)*float64(len(channels))*float64(p.out))
	n := call.grid.pieces()
	call.growBlocks(min(workers, n))
	call.job.do(n, min(workers, n), (*productCall).piece, call)
	call.c, call.call.x = nil, nil
}

func (p *product) get() *productCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		call := p.free[n-1]
		p.free = p.free[:n-1]
		return call
	}
	return &productCall{p: p}
}

func (p *product) put(call *productCall) {
	p.mu.Lock()
	p.free = append(p.free, call)
	p.mu.Unlock()
}

func (p *product) chunkPanels() int { return max(1, productChunkOutputs/p.kern.nr) }

// packPanel packs row panel i of the call's rows.
func (call *productCall) packPanel(_, i int) {
	packActivationPanel(call.packed, call.call.x, call.call.width, call.rows, call.call.channels, i)
}

// piece computes the tiles of piece k of the grid, K block by K block
// (see productKC).
func (call *productCall) piece(slot, k int) {
	p, g := call.p, call.grid
	nr, depth := p.kern.nr, len(p.channels)
	l, c := call.rows, call.c
	ch, t := k/g.spans, k%g.spans
	blocks := p.kBlocks()
	for b := range blocks {
		k0, k1 := b*depth/blocks, (b+1)*depth/blocks
		for j := ch * g.cp; j < min((ch+1)*g.cp, panels(p.out, nr)); j++ {
			w := call.block(slot, j, k0, k1)
			n := min(nr, p.out-j*nr)
			for i := t * g.sp; i < min((t+1)*g.sp, l.count()); i++ {
				kern, row := l.panel(i)
				mr := kern.mr
				m := min(mr, l.tokens-row)
				a := call.packed[row*depth+k0*mr : row*depth+k1*mr]
				off := row*p.out + j*nr
				tile := c[off : off+(m-1)*p.out+n]
				if b == 0 {
					kern.gemm(a, w, k1-k0, p.bias[j*nr:(j+1)*nr], tile, p.out, m, n)
				} else {
					kern.gemmAcc(a, w, k1-k0, tile, p.out, m, n)
				}
			}
		}
	}
}

// kBlocks returns the number of K blocks: the fewest of at most kc rows,
// at least one (depth 0 is one empty block, bias alone); block b is rows
// [b·depth/blocks, (b+1)·depth/blocks), so the blocks differ by a row at
// most (depth 3277 gives seven of 468 or 469, not six of 512 and one of 205).
func (p *product) kBlocks() int {
	return max(1, (len(p.channels)+p.kc-1)/p.kc)
}
