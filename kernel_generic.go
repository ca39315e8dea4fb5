package chanprune

// The generic kernels: plain Go, built on every architecture. They are the
// fallback where no assembly exists and the oracle every SIMD kernel is
// tested against, so they stay simple: each output is a dot product summed
// in channel order, blocked in 2×4 register sub-tiles so that Go keeps the
// accumulators in registers.

// maxTile bounds mr·nr over all kernels (AVX-512's 14×32 is the largest),
// maxNR their nr.
const (
	maxTile = 16 * 32
	maxNR   = 32
)

var genericKernel = newGenericKernel("generic", 4, 8)

// newGenericKernel returns the generic kernel for an mr×nr tile; tests use it
// as the twin of a SIMD kernel of the same shape.
func newGenericKernel(name string, mr, nr int) *kernel {
	k := &kernel{name: name, mr: mr, nr: nr, gramEntryMACs: 6, gramBatchMACs: 4e5}
	k.eval = k.evalGeneric
	k.gemm = k.gemmGeneric
	k.gemmAcc = k.gemmAccGeneric
	k.lowerSplit = lowerSplitGeneric
	k.lowerSplitSets = k.lowerSplitEach // lowerSplitGeneric set by set: the reference
	k.contractSplit = contractSplitGeneric
	k.sweepSplit = k.sweepSplitEach
	k.contract = contractGeneric
	k.dot4, k.axpy4, k.widenAdd = dot4Generic, axpy4Generic, widenAddGeneric
	k.packGram = k.packGramGeneric
	k.columnSums = k.columnSumsGeneric
	k.moveAdd = moveAddGeneric
	k.readSum = readSumGeneric
	k.gemv32, k.gemvBF16, k.gemvF16 = k.gemvGenerics()
	k.widenBF16 = func(dst []float32, src []uint16) { k.unpack16(dst, src, BFloat16) }
	k.widenF16 = func(dst []float32, src []uint16) { k.unpack16(dst, src, Float16) }
	return k
}

// gemvGenerics returns the reference small-T products for k's panels, for
// 1 … gemvMaxT tokens: gemvGeneric with the panel's rows read as float32,
// or as bfloat16 or float16 in k's layout (pack16.go).
func (k *kernel) gemvGenerics() (f32 []gemv32Func, bf16, f16 []gemv16Func) {
	for t := 1; t <= gemvMaxT; t++ {
		f32 = append(f32, func(x []float32, ldx int, w []float32, depth int, bias, c []float32, ldc, n int) {
			gemvGeneric(k, t, x, ldx, w, Float32, depth, bias, c, ldc, n)
		})
		bf16 = append(bf16, func(x []float32, ldx int, w []uint16, depth int, bias, c []float32, ldc, n int) {
			gemvGeneric(k, t, x, ldx, w, BFloat16, depth, bias, c, ldc, n)
		})
		f16 = append(f16, func(x []float32, ldx int, w []uint16, depth int, bias, c []float32, ldc, n int) {
			gemvGeneric(k, t, x, ldx, w, Float16, depth, bias, c, ldc, n)
		})
	}
	return f32, bf16, f16
}

// gemvGeneric is the reference small-T product (gemv32Func) of t tokens
// with a panel of k.nr outputs in format f: each output summed in channel
// order in float32, then bias added. The panel is widened gemvRows rows at
// a time into a float32 block, and each token's outputs are summed over the
// block four at a time, in registers.
func gemvGeneric[W float32 | uint16](k *kernel, t int, x []float32, ldx int, w []W, f WeightFormat, depth int, bias, c []float32, ldc, n int) {
	const gemvRows = 64
	nr := k.nr
	var acc [gemvMaxT * maxNR]float32
	var wide [gemvRows * maxNR]float32
	for p0 := 0; p0 < depth; p0 += gemvRows {
		p1 := min(depth, p0+gemvRows)
		block := wide[:(p1-p0)*nr]
		switch w := any(w[p0*nr : p1*nr]).(type) {
		case []float32:
			copy(block, w)
		case []uint16:
			k.unpack16(block, w, f)
		}
		for i := range t {
			xi := x[i*ldx+p0 : i*ldx+p1]
			for j := 0; j < nr; j += 4 {
				a := acc[i*nr+j:][:4]
				c0, c1, c2, c3 := a[0], a[1], a[2], a[3]
				for p, v := range xi {
					b := block[p*nr+j:][:4]
					c0 += v * b[0]
					c1 += v * b[1]
					c2 += v * b[2]
					c3 += v * b[3]
				}
				a[0], a[1], a[2], a[3] = c0, c1, c2, c3
			}
		}
	}
	for i := range t {
		for j := range n {
			c[i*ldc+j] = acc[i*nr+j] + bias[j]
		}
	}
}

// packGramGeneric is the reference packGramFunc for k's tile shape.
func (k *kernel) packGramGeneric(a, w, x []float32, rows int) {
	packPanels(a, x, rows, k.mr)
	packPanels(w, x, rows, k.nr)
}

// packPanels copies x's whole panels of width channels to dst, one every
// rows·width floats.
func packPanels(dst, x []float32, rows, width int) {
	for p := range len(x) / width {
		copy(dst[p*rows*width:][:width], x[p*width:])
	}
}

// columnSumsGeneric is the reference columnSumsFunc for k's tile shape.
func (k *kernel) columnSumsGeneric(panel []float32, s, q []float64) {
	nr := k.nr
	s, q = s[:nr], q[:nr]
	for t := 0; t+nr <= len(panel); t += nr {
		for c, v := range panel[t : t+nr] {
			x := float64(v)
			s[c] += x
			q[c] += x * x
		}
	}
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

// evalGeneric is the reference evalFunc for k's tile shape; it ignores
// the prefetch hint.
func (k *kernel) evalGeneric(a, w []float32, idx []int32, nk int, bias []float32, m int, s *sums, _ []float32, _ int) {
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

// lowerSplitGeneric is the reference lowerSplitFunc.
func lowerSplitGeneric(h, g []float32, rank []int32, below int32, col []float64) float64 {
	var s float64
	for j, v := range h {
		m := float64(v * g[j])
		if rank[j] < below {
			s += m
		} else {
			col[j] += m
		}
	}
	return s
}

// contractGeneric is the reference contractFunc, for any length: four
// partial sums of each kind (entry j into sum j mod 4) hide the latency of
// the float64 adds.
func contractGeneric(h, g []float32, mask, hd, gd []float64, fg, fh float64, s *sums) {
	var v, vm, w, wm [4]float64
	for j := range h {
		hv, gv, m := float64(h[j]), float64(g[j]), mask[j]
		p := hv * gv
		q := fg*hv*hv*gd[j] + fh*gv*gv*hd[j]
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

// contractSplitGeneric is the reference contractSplitFunc, its sums in
// four partial sums as contractGeneric's.
func contractSplitGeneric(h, g []float32, hd, gd []float64, fg, fh float64, colV, colW []float64, s *sums) {
	var v, w [4]float64
	for j := range h {
		hv, gv := float64(h[j]), float64(g[j])
		p := hv * gv
		q := fg*hv*hv*gd[j] + fh*gv*gv*hd[j]
		v[j%4] += p
		w[j%4] += q
		colV[j] += p
		colW[j] += q
	}
	s[0] += sum4(v)
	s[2] += sum4(w)
}

// moveAddGeneric is the reference moveAddFunc: the adds, then clear (a
// quarter faster than zeroing each entry as it is added).
func moveAddGeneric(dst, src []float64) {
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] += v
	}
	clear(src)
}

// widenAddGeneric is the reference widenAddFunc, four entries at a time
// with the bounds proven (the loop of one ran at half the speed).
func widenAddGeneric(dst []float64, src []float32) {
	dst = dst[:len(src)]
	j := 0
	for ; j+4 <= len(src); j += 4 {
		s, d := src[j:j+4:j+4], dst[j:j+4:j+4]
		d[0] += float64(s[0])
		d[1] += float64(s[1])
		d[2] += float64(s[2])
		d[3] += float64(s[3])
	}
	for ; j < len(src); j++ {
		dst[j] += float64(src[j])
	}
}
