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

// packBias copies the bias (or zeros when there is none) into nr-padded form.
func packBias(dst, bias []float32) {
	clear(dst)
	copy(dst, bias)
}

// packActivations gathers x ([tokens, in], row-major) into panels of mr
// tokens holding the channels perm lists, in that order: panel i holds, for
// each p, x[i·mr : i·mr+mr, perm[p]], zero padded past the last token. For
// an evaluation perm lists the kept channels, then the pruned ones: this is
// the column skipping, after which the kernels run over two contiguous
// ranges.
func packActivations(dst, x []float32, in, mr int, perm []int32) {
	for i := range panels(len(x)/in, mr) {
		packActivationPanel(dst, x, in, mr, perm, i)
	}
}

// packActivationPanel packs panel i alone, for callers that spread the
// panels over workers.
func packActivationPanel(dst, x []float32, in, mr int, perm []int32, i int) {
	tokens, depth := len(x)/in, len(perm)
	panel := dst[i*depth*mr : (i+1)*depth*mr]
	for r := range mr {
		t := i*mr + r
		if t >= tokens {
			for p := range depth {
				panel[p*mr+r] = 0
			}
			continue
		}
		row := x[t*in : (t+1)*in]
		for p, c := range perm {
			panel[p*mr+r] = row[c]
		}
	}
}
