package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// eval emits the evalFunc kernel for the tile (kernel.go; the reference is
// evalGeneric in kernel_generic.go). The K loop runs twice over the one
// accumulator tile: the kept range gives y', stored to a scratch tile in the
// frame, then the pruned range gives d, stored beside it. The epilogue reads
// both back row by row (rows < m only), widens to float64 and accumulates
// Σd², Σy·y', Σy², Σy'² in two sets of four vector accumulators (even and
// odd column chunks, to halve the FMA dependency chains), then reduces them
// and adds them to *s.
func (t *tile) eval() {
	name := t.kernelName("eval")
	t.Function(name)
	t.Attributes(0) // not NOSPLIT: the scratch tile is in the frame
	t.Signature(signature(evalSig))
	t.Pragma("noescape")
	t.Doc(
		fmt.Sprintf("%s evaluates one %d×%d tile of the pruned layer with %s:", name, t.mr, t.nr, t.title),
		"it forms y' = a[:nk]·w[idx[:nk]] + bias and d = a[nk:]·w[idx[nk:]] and",
		"adds Σd², Σy·y', Σy² and Σy'² (y = y'+d, in float64) over rows i < m to s.",
		"It prefetches pf as it goes, pfStep bytes a K step, once every two steps.",
		"It implements evalFunc (kernel.go); refer to kernel_generic.go.",
	)
	tileBytes := 4 * t.mr * t.nr
	// Two tiles, 64-byte aligned so that no vector store or load of the
	// scratch splits a cache line.
	frame := t.AllocLocal(2*tileBytes + 64)

	t.budget()
	a := t.Load(t.Param("a").Base(), t.GP64()).(reg.GPVirtual)
	w := t.Load(t.Param("w").Base(), t.GP64()).(reg.GPVirtual)
	idx := t.Load(t.Param("idx").Base(), t.GP64()).(reg.GPVirtual)
	n := t.Load(t.Param("idx").Len(), t.GP64()).(reg.GPVirtual)
	nk := t.Load(t.Param("nk"), t.GP64()).(reg.GPVirtual)
	t.SUBQ(nk, n) // n = k - nk, the pruned count
	pf := &prefetch{
		ptr:  t.Load(t.Param("pf").Base(), t.GP64()).(reg.GPVirtual),
		step: t.Load(t.Param("pfStep"), t.GP64()).(reg.GPVirtual),
	}
	pfLen := t.Load(t.Param("pf").Len(), t.GP64())
	t.TESTQ(pfLen, pfLen)
	t.JNZ(LabelRef("pf_set"))
	t.MOVQ(a, pf.ptr)      // no pf: a's first line, which the tile reads anyway,
	t.MOVQ(pfLen, pf.step) // and no step
	t.Label("pf_set")

	sp := t.GP64()
	t.LEAQ(frame.Offset(63), sp)
	t.ANDQ(I32(-64), sp) // sp = frame rounded up to 64 bytes
	scratch := Mem{Base: sp}

	acc := t.accumulators()
	t.Comment("y' = a[:nk]·w[idx[:nk]], to scratch[0].")
	t.zeroAll(acc)
	t.kloop("kept", nk, a, w, idx, pf, acc)
	t.storeTile(acc, scratch)
	t.Comment("d = a[nk:]·w[idx[nk:]], to scratch[1].")
	t.zeroAll(acc)
	t.kloop("pruned", n, a, w, idx, pf, acc)
	t.storeTile(acc, scratch.Offset(tileBytes))

	t.evalEpilogue(scratch, tileBytes, acc)
	t.VZEROUPPER()
	t.RET()
}

// storeTile stores the accumulators row-major (nr floats per row) at dst.
func (t *tile) storeTile(acc [][]reg.VecVirtual, dst Mem) {
	for i, row := range acc {
		for j, v := range row {
			t.VMOVUPS(v, dst.Offset(i*t.rowBytes()+j*t.vecBytes()))
		}
	}
}

// evalEpilogue reduces the y' and d tiles stored at scratch (d at
// +tileBytes) over rows i < m and adds the sums to *s. Its float64 sums
// reuse the (now dead) accumulators' virtual registers: avo's liveness
// counts VPXORD v, v, v as a read of v, so fresh registers zeroed here would
// be live from the function's entry, through the K loops.
func (t *tile) evalEpilogue(scratch Mem, tileBytes int, acc [][]reg.VecVirtual) {
	f64 := t.f64Lanes()
	chunks := t.nr / f64 // float64 vectors per row
	sets := 2            // two sets of sums where the registers allow, else one
	if chunks+4*sets+3 > t.regs {
		sets = 1
	}
	t.Commentf("Epilogue: %d bias + %d float64 sums + 3 temporaries = %d of %d %s.",
		chunks, 4*sets, chunks+4*sets+3, t.regs, t.regName())
	if chunks+4*sets+3 > t.regs {
		panic(t.kernelName("eval") + ": epilogue runs out of registers")
	}

	// float64(bias[j]) for every chunk of the row, loaded once.
	biasp := t.Load(t.Param("bias").Base(), t.GP64()).(reg.GPVirtual)
	bias := make([]reg.VecVirtual, chunks)
	for j := range bias {
		bias[j] = t.vec(t.Context)
		t.VCVTPS2PD(Mem{Base: biasp}.Offset(4*f64*j), bias[j])
	}
	// sum[set] holds Σd², Σy·y', Σy², Σy'², the order of sums (kernel.go).
	var free []reg.VecVirtual
	for _, row := range acc {
		free = append(free, row...)
	}
	sum := make([][4]reg.VecVirtual, sets)
	for s := range sum {
		for q := range sum[s] {
			sum[s][q], free = free[0], free[1:]
			t.zero(t.Context, sum[s][q])
		}
	}
	m := t.Load(t.Param("m"), t.GP64()).(reg.GPVirtual)
	p := scratch.Base.(reg.GPVirtual)
	t.TESTQ(m, m)
	t.JZ(LabelRef("reduce")) // if m == 0: nothing to add
	t.Label("rows")
	for j := range chunks {
		dd, yy1, yy, y1y1 := sum[j%sets][0], sum[j%sets][1], sum[j%sets][2], sum[j%sets][3]
		y1, d, y := t.vec(t.Context), t.vec(t.Context), t.vec(t.Context)
		off := 4 * f64 * j
		t.VCVTPS2PD(Mem{Base: p}.Offset(off), y1)          // y' without bias
		t.VADDPD(bias[j], y1, y1)                          // y' = kept + bias
		t.VCVTPS2PD(Mem{Base: p}.Offset(tileBytes+off), d) // d
		t.VADDPD(d, y1, y)                                 // y = y' + d
		t.VFMADD231PD(d, d, dd)                            // Σd²
		t.VFMADD231PD(y1, y, yy1)                          // Σy·y'
		t.VFMADD231PD(y, y, yy)                            // Σy²
		t.VFMADD231PD(y1, y1, y1y1)                        // Σy'²
	}
	t.ADDQ(U32(t.rowBytes()), p)
	t.DECQ(m)
	t.JNZ(LabelRef("rows"))

	t.Label("reduce")
	for _, other := range sum[1:] {
		for q := range 4 {
			t.VADDPD(other[q], sum[0][q], sum[0][q])
		}
	}
	s := t.Load(t.Param("s"), t.GP64()).(reg.GPVirtual)
	t.reduce(t.Context, sum[0], Mem{Base: s})
}
