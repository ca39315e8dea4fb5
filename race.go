//go:build race

package chanprune

import (
	"runtime"
	"unsafe"
)

// The race detector cannot see inside assembly. Under -race, every SIMD
// kernel in the table, and every tail kernel, is wrapped so that each call first reports the memory
// its contract (kernel.go) lets it read and write; a caller that shares a
// buffer between workers without synchronisation is then caught as it would
// be with Go kernels. The generic kernels are Go and already instrumented;
// peak touches no memory.
func init() {
	for _, k := range kernels {
		if k.kernel != genericKernel {
			raceWrap(k.kernel)
		}
		if t := k.kernel.tail; t != nil {
			raceWrap(t)
		}
	}
}

// raceWrap replaces k's function values by ones that report their operands'
// memory to the race detector before calling the kernel.
func raceWrap(k *kernel) {
	mr, nr := k.mr, k.nr
	eval, gemm, gemmAcc, readSum := k.eval, k.gemm, k.gemmAcc, k.readSum
	lowerSplit, lowerSplitSets, contract, contractSplit := k.lowerSplit, k.lowerSplitSets, k.contract, k.contractSplit
	sweepSplit, dot4, axpy4, widenAdd, packGram := k.sweepSplit, k.dot4, k.axpy4, k.widenAdd, k.packGram
	columnSums, moveAdd, packRows := k.columnSums, k.moveAdd, k.packRows
	k.eval = func(a, w []float32, idx []int32, nk int, bias []float32, m int, s *sums, pf []float32, pfStep int) {
		if len(pf) > 0 && len(idx) > 0 && (pfStep < 0 || (len(idx)-1)*pfStep >= 4*len(pf)) {
			panic("eval: the prefetch stream runs past pf") // a caller's bug
		}
		raceRead(a[:len(idx)*mr])
		raceRead(idx)
		for _, c := range idx {
			raceRead(w[int(c)*nr:][:nr])
		}
		raceRead(bias[:nr])
		raceWrite(s[:])
		eval(a, w, idx, nk, bias, m, s, pf, pfStep)
	}
	k.gemm = func(a, w []float32, depth int, bias, c []float32, ldc, m, n int) {
		raceRead(a[:depth*mr])
		raceRead(w[:depth*nr])
		raceRead(bias[:nr])
		raceWriteTile(c, ldc, m, n)
		gemm(a, w, depth, bias, c, ldc, m, n)
	}
	k.gemmAcc = func(a, w []float32, depth int, c []float32, ldc, m, n int) {
		raceRead(a[:depth*mr])
		raceRead(w[:depth*nr])
		raceWriteTile(c, ldc, m, n)
		gemmAcc(a, w, depth, c, ldc, m, n)
	}
	if lowerSplit == nil { // a tail kernel: eval, gemm and gemmAcc only
		return
	}
	k.lowerSplit = func(h, g []float32, rank []int32, below int32, col []float64) float64 {
		n := len(h)
		raceRead(h)
		raceRead(g[:n])
		raceRead(rank[:n])
		raceWrite(col[:n])
		return lowerSplit(h, g, rank, below, col)
	}
	k.lowerSplitSets = func(h, g []float32, ranks []int32, below []int32, cols []float64, stride int, sums []float64) {
		n := len(h)
		raceRead(h)
		raceRead(g[:n])
		raceSets(n, ranks, below, cols, stride, sums)
		lowerSplitSets(h, g, ranks, below, cols, stride, sums)
	}
	k.sweepSplit = func(h, g []float32, hd, gd []float64, f []float64, colV, colW []float64, s []sums, ranks []int32, below []int32, cols []float64, stride int, sums []float64, ldh, ldg, lead, shift int) {
		n, sets, ns := len(h), len(below), len(sums)
		raceRead(f[:2*len(s)])
		for r := range s {
			// From the start of the step the lead ends in: AVX2 loads
			// that step whole and stores its columns back.
			o := sweepLead(n, lead, shift, r) &^ 7
			raceContractSplit(h[r*ldh+o:r*ldh+n], g[r*ldg+o:r*ldg+n], hd[o:], gd[o:], colV[o:], colW[o:], &s[r])
			raceSets(n-o, ranks[o:], below[r*sets:(r+1)*sets], cols[o:], stride, sums[r*ns:(r+1)*ns])
		}
		sweepSplit(h, g, hd, gd, f, colV, colW, s, ranks, below, cols, stride, sums, ldh, ldg, lead, shift)
	}
	k.dot4 = func(a, b0, b1, b2, b3 []float64, s *[4]float64) {
		raceRead(a)
		for _, b := range [...][]float64{b0, b1, b2, b3} {
			raceRead(b[:len(a)])
		}
		raceWrite(s[:])
		dot4(a, b0, b1, b2, b3, s)
	}
	k.axpy4 = func(x []float64, s *[4]float64, y0, y1, y2, y3 []float64) {
		raceRead(x)
		raceRead(s[:])
		for _, y := range [...][]float64{y0, y1, y2, y3} {
			raceWrite(y[:len(x)])
		}
		axpy4(x, s, y0, y1, y2, y3)
	}
	k.widenAdd = func(dst []float64, src []float32) {
		raceRead(src)
		raceWrite(dst[:len(src)])
		widenAdd(dst, src)
	}
	k.packGram = func(a, w, x []float32, rows int) {
		raceRead(x)
		for _, l := range [...]struct {
			dst   []float32
			width int
		}{{a, mr}, {w, nr}} {
			for p := range len(x) / l.width {
				raceWrite(l.dst[p*rows*l.width:][:l.width])
			}
		}
		packGram(a, w, x, rows)
	}
	k.columnSums = func(panel []float32, s, q []float64) {
		raceRead(panel[:len(panel)/nr*nr])
		raceWrite(s[:nr])
		raceWrite(q[:nr])
		columnSums(panel, s, q)
	}
	k.moveAdd = func(dst, src []float64) {
		raceWrite(src)
		raceWrite(dst[:len(src)])
		moveAdd(dst, src)
	}
	if packRows != nil { // nil: packActivationPanel packs in Go
		k.packRows = func(dst, x []float32, in, mr int, perm []int32, rows int) {
			raceRead(x[:rows*in])
			raceRead(perm)
			for p := range perm {
				raceWrite(dst[p*mr:][:rows])
			}
			packRows(dst, x, in, mr, perm, rows)
		}
	}
	k.readSum = func(x []float32) float32 {
		raceRead(x)
		return readSum(x)
	}
	k.contract = func(h, g []float32, mask, hd, gd []float64, fg, fh float64, s *sums) {
		n := len(h)
		raceRead(h)
		raceRead(g[:n])
		raceRead(mask[:n])
		raceRead(hd[:n])
		raceRead(gd[:n])
		raceWrite(s[:])
		contract(h, g, mask, hd, gd, fg, fh, s)
	}
	k.contractSplit = func(h, g []float32, hd, gd []float64, fg, fh float64, colV, colW []float64, s *sums) {
		raceContractSplit(h, g, hd, gd, colV, colW, s)
		contractSplit(h, g, hd, gd, fg, fh, colV, colW, s)
	}
	k.widenBF16, k.widenF16 = raceWiden(k.widenBF16), raceWiden(k.widenF16)
	for i := range k.gemv32 {
		k.gemv32[i] = raceGemv(i+1, nr, k.gemv32[i])
		k.gemvBF16[i] = raceGemv(i+1, nr, k.gemvBF16[i])
		k.gemvF16[i] = raceGemv(i+1, nr, k.gemvF16[i])
	}
}

// raceContractSplit reports the operands of a contractSplitFunc.
func raceContractSplit(h, g []float32, hd, gd []float64, colV, colW []float64, s *sums) {
	n := len(h)
	raceRead(h)
	raceRead(g[:n])
	raceRead(hd[:n])
	raceRead(gd[:n])
	raceWrite(colV[:n])
	raceWrite(colW[:n])
	raceWrite(s[:])
}

// raceSets reports the score sets' operands of a lowerSplitSetsFunc on a
// row of n entries.
func raceSets(n int, ranks, below []int32, cols []float64, stride int, sums []float64) {
	raceRead(below)
	for t := range below {
		raceRead(ranks[t*stride:][:n])
		raceWrite(cols[t*stride:][:n])
	}
	raceWrite(sums[:len(below)])
}

// raceWiden wraps a widening kernel.
func raceWiden(w widen16Func) widen16Func {
	return func(dst []float32, src []uint16) {
		raceRead(src)
		raceWrite(dst[:len(src)])
		w(dst, src)
	}
}

// raceGemv wraps the small-T product g of t tokens (gemv32Func or
// gemv16Func) for panels of nr outputs.
func raceGemv[W any](t, nr int, g func(x []float32, ldx int, w []W, depth int, bias, c []float32, ldc, n int)) func(x []float32, ldx int, w []W, depth int, bias, c []float32, ldc, n int) {
	return func(x []float32, ldx int, w []W, depth int, bias, c []float32, ldc, n int) {
		if depth > 0 {
			for i := range t {
				raceRead(x[i*ldx:][:depth])
			}
		}
		raceRead(w[:depth*nr])
		raceRead(bias[:nr])
		raceWriteTile(c, ldc, t, n)
		g(x, ldx, w, depth, bias, c, ldc, n)
	}
}

// raceWriteTile reports the m×n tile of c with row stride ldc, the only
// elements a gemm kernel reads and writes; other workers may write the
// elements between its rows. With n = 0, c may be empty.
func raceWriteTile(c []float32, ldc, m, n int) {
	if n == 0 {
		return
	}
	for i := range m {
		raceWrite(c[i*ldc:][:n])
	}
}

// raceRead reports a read of all of s.
func raceRead[E any](s []E) {
	if len(s) > 0 {
		runtime.RaceReadRange(unsafe.Pointer(unsafe.SliceData(s)), len(s)*int(unsafe.Sizeof(s[0])))
	}
}

// raceWrite reports a write of all of s.
func raceWrite[E any](s []E) {
	if len(s) > 0 {
		runtime.RaceWriteRange(unsafe.Pointer(unsafe.SliceData(s)), len(s)*int(unsafe.Sizeof(s[0])))
	}
}
