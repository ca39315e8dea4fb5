package main

import (
	"fmt"
	"math/bits"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// lowerSum emits lowerSum<ISA>, the lowerSumFunc of the instruction set
// (kernel.go; the reference is lowerSumGeneric in kernel_generic.go):
// Σ m_j over j < len(h) with rank[j] < below, in float64, where
// m_j = h[j]·g[j] is a float32 multiply (VMULPS, one operand from memory).
// An excluded lane is never added: AVX2 zeroes it in float32 before
// widening, AVX-512 adds under a K mask, so an excluded NaN or Inf cannot
// leak in. The accs float64 accumulators are independent chains, summed
// pairwise at the end. Neither version reads h, g or rank at or past
// len(h).
func (x *isa) lowerSum(c *build.Context, accs int) {
	name := "lowerSum" + x.name
	if accs < 2 || bits.OnesCount(uint(accs)) != 1 {
		panic(fmt.Sprintf("%s: %d accumulators, want a power of two ≥ 2", name, accs))
	}
	leafFunction(c, name, lowerSumSig,
		fmt.Sprintf("%s returns Σ h[j]·g[j] (a float32 product) over the j < len(h)", name),
		fmt.Sprintf("with rank[j] < below (signed), summed in float64, with %s;", x.title),
		"len(g), len(rank) ≥ len(h). It implements lowerSumFunc (kernel.go); refer",
		"to lowerSumGeneric in kernel_generic.go.",
	)
	if x.lanes == 16 {
		lowerSum512(c, accs)
	} else {
		lowerSum256(c, accs)
	}
	c.VZEROUPPER()
	c.RET()
}

// addr is the stack address of a parameter or result.
func addr(p gotypes.Component) Mem {
	b, err := p.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// foldPairs adds acc[i+h] into acc[i] for halving h: a tree of adds, so
// the chains stay independent to the end.
func foldPairs(c *build.Context, acc []reg.VecVirtual) {
	for h := len(acc) / 2; h >= 1; h /= 2 {
		for i := range h {
			c.VADDPD(acc[i+h], acc[i], acc[i])
		}
	}
}

// lowerSum256 is the AVX version. AVX has VPCMPGTD on XMM only (the YMM form
// is AVX2), so a step takes 4 elements: the mask below > rank[j:j+4]
// (VPCMPGTD with rank from memory), ANDed (VANDPS) with m = h[j:j+4] times
// g[j:j+4] (VMOVUPS, VMULPS from memory), so excluded lanes become +0,
// widened (VCVTPS2PD XMM→YMM) and added (VADDPD). It needs AVX alone, within the avx2 family's AVX, FMA3.
// One iteration does accs steps, one per accumulator; the remaining whole
// steps go to acc[0] and the last len mod 4 elements are added one by one
// after the reduction (VEX scalar ops zero the upper half of their YMM
// destination, so they cannot go first).
func lowerSum256(c *build.Context, accs int) {
	c.Commentf("Register budget: %d accumulators + below + 3 temporaries = %d of 16 YMM.", accs, accs+4)
	const step = 4 // elements a step: one XMM of float32
	block := step * accs
	h := c.Load(c.Param("h").Base(), c.GP64()).(reg.GPVirtual)
	g := c.Load(c.Param("g").Base(), c.GP64()).(reg.GPVirtual)
	n := c.Load(c.Param("h").Len(), c.GP64()).(reg.GPVirtual)
	rank := c.Load(c.Param("rank").Base(), c.GP64()).(reg.GPVirtual)
	below := c.XMM()
	c.VBROADCASTSS(addr(c.Param("below")), below)
	acc := make([]reg.VecVirtual, accs)
	for i := range acc {
		acc[i] = c.YMM()
		c.VXORPS(acc[i], acc[i], acc[i])
	}
	// stepAt accumulates elements [off/4, off/4+4) of the current block.
	stepAt := func(off int, acc reg.VecVirtual) {
		t, v, w := c.XMM(), c.XMM(), c.YMM()
		c.VPCMPGTD(Mem{Base: rank}.Offset(off), below, t) // t = below > rank
		c.VMOVUPS(Mem{Base: h}.Offset(off), v)
		c.VMULPS(Mem{Base: g}.Offset(off), v, v) // m = h·g
		c.VANDPS(v, t, t)                        // m where rank < below, else +0
		c.VCVTPS2PD(t, w)
		c.VADDPD(w, acc, acc)
	}
	cnt := c.GP64()
	c.Commentf("Blocks of %d elements, one step per accumulator.", block)
	c.MOVQ(n, cnt)
	c.SHRQ(U8(bits.TrailingZeros(uint(block))), cnt)
	c.JZ(LabelRef("steps"))
	c.Label("blocks")
	for s := range accs {
		stepAt(4*step*s, acc[s])
	}
	for _, p := range []reg.GPVirtual{h, g, rank} {
		c.ADDQ(U32(4*block), p)
	}
	c.DECQ(cnt)
	c.JNZ(LabelRef("blocks"))

	c.Label("steps")
	c.Commentf("Whole steps of %d left: (len mod %d) / %d.", step, block, step)
	c.MOVQ(n, cnt)
	c.ANDQ(U32(block-1), cnt)
	c.SHRQ(U8(bits.TrailingZeros(step)), cnt)
	c.JZ(LabelRef("reduce"))
	c.Label("step")
	stepAt(0, acc[0])
	for _, p := range []reg.GPVirtual{h, g, rank} {
		c.ADDQ(U32(4*step), p)
	}
	c.DECQ(cnt)
	c.JNZ(LabelRef("step"))

	c.Label("reduce")
	foldPairs(c, acc)
	s, hi := acc[0].AsX(), c.XMM()
	c.VEXTRACTF128(U8(1), acc[0], hi)
	c.VADDPD(hi, s, s)
	c.VPERMILPD(U8(1), s, hi)
	c.VADDSD(hi, s, s)

	c.Commentf("The last len mod %d elements, one by one.", step)
	c.ANDQ(U32(step-1), n)
	c.JZ(LabelRef("done"))
	b := c.Load(c.Param("below"), c.GP32()).(reg.GPVirtual)
	r, v := c.GP32(), c.XMM()
	c.Label("tail")
	c.MOVL(Mem{Base: rank}, r)
	c.CMPL(r, b)
	c.JGE(LabelRef("next")) // if rank[j] >= below: skip
	c.VMOVSS(Mem{Base: h}, v)
	c.VMULSS(Mem{Base: g}, v, v) // m = h·g in float32
	c.VCVTSS2SD(v, v, v)
	c.VADDSD(v, s, s)
	c.Label("next")
	for _, p := range []reg.GPVirtual{h, g, rank} {
		c.ADDQ(U32(4), p)
	}
	c.DECQ(n)
	c.JNZ(LabelRef("tail"))
	c.Label("done")
	c.VMOVSD(s, addr(c.ReturnIndex(0)))
}

// lowerSum512 is the AVX-512 version: a block is 16 elements. VPCMPGTD
// compares them with below into a K mask, whose high byte KSHIFTRW moves
// down; m = h·g (VMOVUPS, VMULPS from memory) is widened a half at a time
// (VCVTPS2PD, the high half extracted with VEXTRACTF64X4) and added under
// the low and high mask (merge masking), into two accumulators. One iteration does accs/2 blocks; the remaining whole
// blocks go to acc[0], acc[1]; the last len mod 16 elements are one
// block under a mask of their count, read with masked loads (which fault on
// no masked-out element) and widened in registers. Every instruction is an
// AVX512F one on ZMM or K registers (see avx512).
func lowerSum512(c *build.Context, accs int) {
	c.Commentf("Register budget: %d accumulators + below + 4 temporaries = %d of 32 ZMM; 4 K.", accs, accs+5)
	const block = 16 // elements a block: one ZMM of int32
	blocks := accs / 2
	unit := block * blocks
	h := c.Load(c.Param("h").Base(), c.GP64()).(reg.GPVirtual)
	g := c.Load(c.Param("g").Base(), c.GP64()).(reg.GPVirtual)
	n := c.Load(c.Param("h").Len(), c.GP64()).(reg.GPVirtual)
	rank := c.Load(c.Param("rank").Base(), c.GP64()).(reg.GPVirtual)
	// From a general register: go vet's asmdecl check takes the memory
	// form's operand for 64 bytes.
	below := c.ZMM()
	c.VPBROADCASTD(c.Load(c.Param("below"), c.GP32()), below)
	acc := make([]reg.VecVirtual, accs)
	for i := range acc {
		acc[i] = c.ZMM()
		c.VPXORD(acc[i], acc[i], acc[i])
	}
	// blockAt accumulates the 16 elements at byte offset off into lo, hi.
	blockAt := func(off int, lo, hi reg.VecVirtual) {
		k, kh := c.K(), c.K()
		v, hy, wl, wh := c.ZMM(), c.YMM(), c.ZMM(), c.ZMM()
		c.VPCMPGTD(Mem{Base: rank}.Offset(off), below, k) // k = below > rank
		c.KSHIFTRW(U8(8), k, kh)
		c.VMOVUPS(Mem{Base: h}.Offset(off), v)
		c.VMULPS(Mem{Base: g}.Offset(off), v, v) // m = h·g
		c.VCVTPS2PD(v.AsY(), wl)
		c.VEXTRACTF64X4(U8(1), v, hy)
		c.VCVTPS2PD(hy, wh)
		c.VADDPD(wl, lo, k, lo)
		c.VADDPD(wh, hi, kh, hi)
	}
	cnt := c.GP64()
	c.Commentf("Iterations of %d blocks of %d.", blocks, block)
	c.MOVQ(n, cnt)
	c.SHRQ(U8(bits.TrailingZeros(uint(unit))), cnt)
	c.JZ(LabelRef("blocks"))
	c.Label("loop")
	for b := range blocks {
		blockAt(4*block*b, acc[2*b], acc[2*b+1])
	}
	for _, p := range []reg.GPVirtual{h, g, rank} {
		c.ADDQ(U32(4*unit), p)
	}
	c.DECQ(cnt)
	c.JNZ(LabelRef("loop"))

	c.Label("blocks")
	if blocks > 1 {
		c.Commentf("Whole blocks left: (len mod %d) / %d.", unit, block)
		c.MOVQ(n, cnt)
		c.ANDQ(U32(unit-1), cnt)
		c.SHRQ(U8(bits.TrailingZeros(block)), cnt)
		c.JZ(LabelRef("tail"))
		c.Label("block")
		blockAt(0, acc[0], acc[1])
		for _, p := range []reg.GPVirtual{h, g, rank} {
			c.ADDQ(U32(4*block), p)
		}
		c.DECQ(cnt)
		c.JNZ(LabelRef("block"))
	}

	c.Label("tail")
	c.Commentf("The last len mod %d elements: mask bits j < len mod %d.", block, block)
	c.ANDQ(U32(block-1), n)
	c.JZ(LabelRef("reduce"))
	c.MOVQ(n, reg.RCX)
	t := c.GP32()
	c.MOVL(U32(1), t)
	c.SHLL(reg.CL, t)
	c.DECL(t)
	kt, k := c.K(), c.K()
	c.KMOVW(t, kt)
	r, v, gv := c.ZMM(), c.ZMM(), c.ZMM()
	c.VMOVDQU32_Z(Mem{Base: rank}, kt, r)
	c.VPCMPGTD(r, below, kt, k)      // k = in range && below > rank
	c.VMOVUPS_Z(Mem{Base: h}, k, v)  // h where counted, else +0
	c.VMOVUPS_Z(Mem{Base: g}, k, gv) // g likewise
	c.VMULPS(gv, v, v)               // m = h·g where counted, else +0
	wl, hy, wh := c.ZMM(), c.YMM(), c.ZMM()
	c.VCVTPS2PD(v.AsY(), wl)
	c.VEXTRACTF64X4(U8(1), v, hy)
	c.VCVTPS2PD(hy, wh)
	c.VADDPD(wl, acc[0], acc[0])
	c.VADDPD(wh, acc[1], acc[1])

	c.Label("reduce")
	foldPairs(c, acc)
	c.Comment("Fold the 8 lanes in ZMM registers: halves, quarters, pairs.")
	s, u := acc[0], c.ZMM()
	for _, imm := range []uint8{0x4e, 0xb1} { // swap 256-bit halves, then 128-bit lanes
		c.VSHUFF64X2(U8(imm), s, s, u)
		c.VADDPD(u, s, s)
	}
	c.VPERMILPD(U8(0x55), s, u) // swap the lanes of each pair
	c.VADDPD(u, s, s)
	c.VMOVSD(s.AsX(), addr(c.ReturnIndex(0)))
}
