package chanprune

import "sync"

// product computes C = x_S·W_Sᵀ + b for a weight packed once, where S is a
// fixed list of input channels gathered from each row of x: all of them for
// a dense layer, the kept ones for a pruned layer. It drives the gemm
// micro-kernel over (row panel, column chunk) tiles on the worker pool. The
// packed weight is read-only; each call takes its scratch from a free list,
// so calls may run concurrently and, in steady state, allocate nothing.
type product struct {
	kern     *kernel
	channels []int32   // the channels of a full-width row that the weight's columns hold
	identity []int32   // 0 … len(channels)-1: rows already compacted
	in, out  int       // width of full rows; outputs
	weight   []float32 // packed weight panels (packWeight), len(channels) rows each
	bias     []float32 // bias padded to whole panels

	mu   sync.Mutex
	free []*productCall
}

// productCall is one call's scratch.
type productCall struct {
	p      *product
	packed []float32 // packed activations, grown as needed
	c      []float32
	tokens int
	job    job // the column chunks
	pack   job // the row panels
	call   struct {
		x        []float32
		width    int
		channels []int32
	}
}

// newProduct packs weight ([out, len(channels)], row-major) for kern.
func newProduct(kern *kernel, weight, bias []float32, channels []int32, in, out int) *product {
	depth := len(channels)
	np := panels(out, kern.nr)
	p := &product{
		kern: kern, channels: channels, in: in, out: out,
		identity: make([]int32, depth),
		weight:   make([]float32, np*kern.nr*depth),
		bias:     make([]float32, np*kern.nr),
	}
	for i := range p.identity {
		p.identity[i] = int32(i)
	}
	packWeight(p.weight, weight, depth, out, kern.nr)
	packBias(p.bias, bias)
	return p
}

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
	size := panels(call.tokens, p.kern.mr) * p.kern.mr * len(channels)
	if len(call.packed) < size {
		call.packed = make([]float32, size)
	}
	call.call.x, call.call.width, call.call.channels = x, width, channels
	rowPanels := panels(call.tokens, p.kern.mr)
	call.pack.do(rowPanels, min(workers, rowPanels))
	call.c = c
	chunks := (panels(p.out, p.kern.nr) + p.chunkPanels() - 1) / p.chunkPanels()
	call.job.do(chunks, min(workers, chunks))
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
	call := &productCall{p: p}
	call.job.run = call.chunk
	call.pack.run = func(_, i int) {
		packActivationPanel(call.packed, call.call.x, call.call.width, p.kern.mr, call.call.channels, i)
	}
	return call
}

func (p *product) put(call *productCall) {
	p.mu.Lock()
	p.free = append(p.free, call)
	p.mu.Unlock()
}

func (p *product) chunkPanels() int { return max(1, chunkOutputs/p.kern.nr) }

// chunk computes the columns of chunk ch for every row panel.
func (call *productCall) chunk(_, ch int) {
	p := call.p
	mr, nr, depth := p.kern.mr, p.kern.nr, len(p.channels)
	tokens, c := call.tokens, call.c
	cp := p.chunkPanels()
	for j := ch * cp; j < min((ch+1)*cp, panels(p.out, nr)); j++ {
		w := p.weight[j*depth*nr : (j+1)*depth*nr]
		bias := p.bias[j*nr : (j+1)*nr]
		n := min(nr, p.out-j*nr)
		for i := range panels(tokens, mr) {
			m := min(mr, tokens-i*mr)
			a := call.packed[i*depth*mr : (i+1)*depth*mr]
			off := i*mr*p.out + j*nr
			p.kern.gemm(a, w, depth, bias, c[off:off+(m-1)*p.out+n], p.out, m, n)
		}
	}
}
