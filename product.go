package chanprune

// product computes C = x_S·W_Sᵀ + b for a weight packed once, where S is a
// fixed list of input channels gathered from each row of x: all of them for
// a dense layer, the kept ones for a pruned layer. It drives the gemm
// micro-kernel over (row panel, column chunk) tiles on the worker pool.
type product struct {
	kern     *kernel
	channels []int32   // the channels of x that the weight's columns hold
	in, out  int       // width of x's rows; outputs
	weight   []float32 // packed weight panels (packWeight), len(channels) rows each
	bias     []float32 // bias padded to whole panels
	packed   []float32 // packed activations, grown as needed

	job  job
	call struct {
		c      []float32
		tokens int
	}
}

// newProduct packs weight ([out, len(channels)], row-major) for kern.
func newProduct(kern *kernel, weight, bias []float32, channels []int32, in, out int) *product {
	depth := len(channels)
	np := panels(out, kern.nr)
	p := &product{
		kern: kern, channels: channels, in: in, out: out,
		weight: make([]float32, np*kern.nr*depth),
		bias:   make([]float32, np*kern.nr),
	}
	p.job.run = p.chunk
	packWeight(p.weight, weight, depth, out, kern.nr)
	packBias(p.bias, bias)
	return p
}

// run sets c ([tokens, out]) to the product for x ([tokens, in]) on the
// given number of workers.
func (p *product) run(c, x []float32, workers int) {
	tokens := len(x) / p.in
	size := panels(tokens, p.kern.mr) * p.kern.mr * len(p.channels)
	if len(p.packed) < size {
		p.packed = make([]float32, size)
	}
	packActivations(p.packed, x, p.in, p.kern.mr, p.channels)
	p.call.c, p.call.tokens = c, tokens
	chunks := (panels(p.out, p.kern.nr) + p.chunkPanels() - 1) / p.chunkPanels()
	p.job.do(chunks, min(workers, chunks))
	p.call.c = nil
}

func (p *product) chunkPanels() int { return max(1, chunkOutputs/p.kern.nr) }

// chunk computes the columns of chunk ch for every row panel.
func (p *product) chunk(_, ch int) {
	mr, nr, depth := p.kern.mr, p.kern.nr, len(p.channels)
	tokens, c := p.call.tokens, p.call.c
	cp := p.chunkPanels()
	for j := ch * cp; j < min((ch+1)*cp, panels(p.out, nr)); j++ {
		w := p.weight[j*depth*nr : (j+1)*depth*nr]
		bias := p.bias[j*nr : (j+1)*nr]
		n := min(nr, p.out-j*nr)
		for i := range panels(tokens, mr) {
			m := min(mr, tokens-i*mr)
			a := p.packed[i*depth*mr : (i+1)*depth*mr]
			off := i*mr*p.out + j*nr
			p.kern.gemm(a, w, depth, bias, c[off:off+(m-1)*p.out+n], p.out, m, n)
		}
	}
}
