package chanprune

// The generic kernels: plain Go, built on every architecture. They are the
// fallback where no assembly exists and the oracle every SIMD kernel is
// tested against, so they stay simple: each output is a dot product summed
// in channel order, blocked in 2×4 register sub-tiles so that Go keeps the
// accumulators in registers.

// maxTile bounds mr·nr over all kernels (AVX-512's 14×32 is the largest).
const maxTile = 16 * 32

var genericKernel = newGenericKernel("generic", 4, 8)

// newGenericKernel returns the generic kernel for an mr×nr tile; tests use it
// as the twin of a SIMD kernel of the same shape.
func newGenericKernel(name string, mr, nr int) *kernel {
	k := &kernel{name: name, mr: mr, nr: nr, gramEntryMACs: 6, gramBatchMACs: 4e5}
	k.eval = k.evalGeneric
	k.gemm = k.gemmGeneric
	k.gemmAcc = k.gemmAccGeneric
	k.lowerSum = lowerSumGeneric
	k.contract = contractGeneric
	k.readSum = readSumGeneric
	return k
}

// readSumGeneric is the reference readSumFunc: the sum in element order,
// for any length.
func readSumGeneric(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

// evalGeneric is the reference evalFunc for k's tile shape.
func (k *kernel) evalGeneric(a, w []float32, idx []int32, nk int, bias []float32, m int, s *sums) {
	var kept, pruned [maxTile]float32
	mr, nr := k.mr, k.nr
	tileProduct(mr, nr, a[:nk*mr], w, idx[:nk], kept[:mr*nr])
	tileProduct(mr, nr, a[nk*mr:], w, idx[nk:], pruned[:mr*nr])
	reduceTile(nr, m, kept[:], pruned[:], bias, s)
}

// gemmGeneric is the reference gemmFunc for k's tile shape.
func (k *kernel) gemmGeneric(a, w []float32, depth int, bias, c []float32, ldc, m, n int) {
	var tile [maxTile]float32
	mr, nr := k.mr, k.nr
	tileProduct(mr, nr, a[:depth*mr], w, nil, tile[:mr*nr])
	for i := range m {
		for j := range n {
			c[i*ldc+j] = tile[i*nr+j] + bias[j]
		}
	}
}

// gemmAccGeneric is the reference gemmAccFunc for k's tile shape: the
// tile's sum as gemmGeneric forms it, then added to c.
func (k *kernel) gemmAccGeneric(a, w []float32, depth int, c []float32, ldc, m, n int) {
	var tile [maxTile]float32
	mr, nr := k.mr, k.nr
	tileProduct(mr, nr, a[:depth*mr], w, nil, tile[:mr*nr])
	for i := range m {
		for j := range n {
			c[i*ldc+j] += tile[i*nr+j]
		}
	}
}

// lowerSumGeneric is the reference lowerSumFunc.
func lowerSumGeneric(h, g []float32, rank []int32, below int32) float64 {
	var s float64
	for j, v := range h {
		if rank[j] < below {
			s += float64(v * g[j])
		}
	}
	return s
}

// contractGeneric is the reference contractFunc, for any length: four
// partial sums of each kind (entry j into sum j mod 4) hide the latency of
// the float64 adds.
func contractGeneric(h, g, mask, hd, gd []float32, fg, fh float64, s *sums) {
	var v, vm, w, wm [4]float64
	for j := range h {
		hv, gv, m := float64(h[j]), float64(g[j]), float64(mask[j])
		p := hv * gv
		q := fg*hv*hv*float64(gd[j]) + fh*gv*gv*float64(hd[j])
		l := j % 4
		v[l] += p
		vm[l] += p * m
		w[l] += q
		wm[l] += q * m
	}
	s[0] += sum4(v)
	s[1] += sum4(vm)
	s[2] += sum4(w)
	s[3] += sum4(wm)
}

// tileProduct sets c (mr×nr, row-major) to the product of the packed rows
// of a with rows of w: row idx[p] for packed row p, or row p if idx is nil.
// mr must be even and nr a multiple of 4.
func tileProduct(mr, nr int, a, w []float32, idx []int32, c []float32) {
	for i := 0; i < mr; i += 2 {
		for j := 0; j < nr; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			for p := range len(a) / mr {
				a0, a1 := a[p*mr+i], a[p*mr+i+1]
				row := p
				if idx != nil {
					row = int(idx[p])
				}
				b := w[row*nr+j:][:4]
				c00 += a0 * b[0]
				c01 += a0 * b[1]
				c02 += a0 * b[2]
				c03 += a0 * b[3]
				c10 += a1 * b[0]
				c11 += a1 * b[1]
				c12 += a1 * b[2]
				c13 += a1 * b[3]
			}
			copy(c[i*nr+j:], []float32{c00, c01, c02, c03})
			copy(c[(i+1)*nr+j:], []float32{c10, c11, c12, c13})
		}
	}
}

// reduceTile adds the reductions of the first m rows of the tile to s. The
// products of float32 values are exact in float64, so only the sums round.
func reduceTile(nr, m int, kept, pruned, bias []float32, s *sums) {
	var t sums
	for i := range m {
		for j := range nr {
			y1 := float64(kept[i*nr+j]) + float64(bias[j])
			d := float64(pruned[i*nr+j])
			y := y1 + d
			t[sDD] += d * d
			t[sYY1] += y * y1
			t[sYY] += y * y
			t[sY1Y1] += y1 * y1
		}
	}
	addSums(s, t)
}
