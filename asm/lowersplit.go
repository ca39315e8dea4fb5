package main

import (
	"fmt"
	"math/bits"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// lowerSplit emits lowerSplit<ISA>, the lowerSplitFunc of the instruction
// set (kernel.go; the reference is lowerSplitGeneric in kernel_generic.go).
// m_j = h[j]·g[j] is a float32 multiply (VMULPS, one operand from memory),
// widened to float64. Lanes with rank[j] < below go to the row's float64
// accumulators, the others to col[j]: col is loaded, m added, and the
// lanes that stay (rank[j] < below) are kept as loaded, never added to, so
// that a NaN or Inf on one side cannot leak into the other. The accs
// accumulators are independent chains, summed pairwise at the end. Neither
// version reads or writes h, g, rank or col at or past len(h).
func (x *isa) lowerSplit(c *build.Context, accs int) {
	name := "lowerSplit" + x.name
	if accs < 2 || bits.OnesCount(uint(accs)) != 1 {
		panic(fmt.Sprintf("%s: %d accumulators, want a power of two ≥ 2", name, accs))
	}
	leafFunction(c, name, lowerSplitSig,
		fmt.Sprintf("%s returns Σ h[j]·g[j] (a float32 product) over the j < len(h)", name),
		"with rank[j] < below (signed), summed in float64, and adds the product",
		fmt.Sprintf("to col[j] for every other j < len(h), with %s; len(g),", x.title),
		"len(rank), len(col) ≥ len(h). It implements lowerSplitFunc (kernel.go);",
		"refer to lowerSplitGeneric in kernel_generic.go.",
	)
	if x.lanes == 16 {
		lowerSplit512(c, accs)
	} else {
		lowerSplit256(c, accs)
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

// lowerSplit256 is the AVX version; a step takes 4 entries, one YMM of
// float64. The mask is formed in float64 lanes: rank widened (VCVTDQ2PD
// from memory, exact) and compared with below (VCMPPD, less than), so one
// mask serves both sides (the YMM integer compare would need AVX2). The
// row side adds m ANDed with the mask (excluded lanes +0); the column side
// adds m to col (VADDPD from memory) and blends col back in the masked
// lanes (VBLENDVPD from memory) before a full store. It needs AVX alone,
// within the avx2 family's AVX, FMA3. One iteration does accs steps, one
// per accumulator; the remaining whole steps go to acc[0] and the last len
// mod 4 entries are done one by one after the reduction (VEX scalar ops
// zero the upper half of their YMM destination, so they cannot go first).
func lowerSplit256(c *build.Context, accs int) {
	c.Commentf("Register budget: %d accumulators + below + 3 temporaries = %d of 16 YMM.", accs, accs+4)
	const step = 4 // entries a step: one YMM of float64
	block := step * accs
	h, g, rank, col := ptr(c, "h"), ptr(c, "g"), ptr(c, "rank"), ptr(c, "col")
	n := c.Load(c.Param("h").Len(), c.GP64()).(reg.GPVirtual)
	b := c.Load(c.Param("below"), c.GP32()).(reg.GPVirtual)
	below := c.YMM()
	c.VCVTSI2SDL(b, below.AsX(), below.AsX())
	c.VBROADCASTSD(below.AsX(), below)
	acc := make([]reg.VecVirtual, accs)
	for i := range acc {
		acc[i] = c.YMM()
		c.VXORPS(acc[i], acc[i], acc[i])
	}
	ptrs := []reg.GPVirtual{h, g, rank}
	// stepAt splits the entries [off/4, off/4+4) of the current block.
	stepAt := func(off int, acc reg.VecVirtual) {
		k, v, m, t := c.YMM(), c.XMM(), c.YMM(), c.YMM()
		cm := Mem{Base: col}.Offset(2 * off)
		c.VCVTDQ2PD(Mem{Base: rank}.Offset(off), k)
		c.VCMPPD(U8(1), below, k, k) // k = rank < below
		c.VMOVUPS(Mem{Base: h}.Offset(off), v)
		c.VMULPS(Mem{Base: g}.Offset(off), v, v) // m = h·g
		c.VCVTPS2PD(v, m)
		c.VANDPD(k, m, t) // m where rank < below, else +0
		c.VADDPD(t, acc, acc)
		c.VADDPD(cm, m, t)       // col + m
		c.VBLENDVPD(k, cm, t, t) // col where rank < below
		c.VMOVUPD(t, cm)
	}
	cnt := c.GP64()
	c.Commentf("Blocks of %d entries, one step per accumulator.", block)
	c.MOVQ(n, cnt)
	c.SHRQ(U8(bits.TrailingZeros(uint(block))), cnt)
	c.JZ(LabelRef("steps"))
	c.Label("blocks")
	for s := range accs {
		stepAt(4*step*s, acc[s])
	}
	advance(c, ptrs, col, block)
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
	advance(c, ptrs, col, step)
	c.DECQ(cnt)
	c.JNZ(LabelRef("step"))

	c.Label("reduce")
	foldPairs(c, acc)
	s := fold(c, acc[0])

	c.Commentf("The last len mod %d entries, one by one.", step)
	c.ANDQ(U32(step-1), n)
	c.JZ(LabelRef("done"))
	r, v, t := c.GP32(), c.XMM(), c.XMM()
	c.Label("tail")
	c.VMOVSS(Mem{Base: h}, v)
	c.VMULSS(Mem{Base: g}, v, v) // m = h·g in float32
	c.VCVTSS2SD(v, v, v)
	c.MOVL(Mem{Base: rank}, r)
	c.CMPL(r, b)
	c.JGE(LabelRef("column")) // if rank[j] >= below: to col[j]
	c.VADDSD(v, s, s)
	c.JMP(LabelRef("next"))
	c.Label("column")
	c.VADDSD(Mem{Base: col}, v, t)
	c.VMOVSD(t, Mem{Base: col})
	c.Label("next")
	advance(c, ptrs, col, 1)
	c.DECQ(n)
	c.JNZ(LabelRef("tail"))
	c.Label("done")
	c.VMOVSD(s, addr(c.ReturnIndex(0)))
}

// advance moves the float32 and int32 pointers ptrs and the float64
// pointer col on by n entries.
func advance(c *build.Context, ptrs []reg.GPVirtual, col reg.GPVirtual, n int) {
	for _, p := range ptrs {
		c.ADDQ(U32(4*n), p)
	}
	c.ADDQ(U32(8*n), col)
}

// fold sums the float64 lanes of v into its lane 0 and returns v's XMM
// view. AVX-512 folds in ZMM registers with AVX512F shuffles (halves,
// quarters, pairs), since a YMM or XMM register numbered 16 or more would
// need VL; AVX folds the YMM's halves and then the pair.
func fold(c *build.Context, v reg.VecVirtual) reg.Register {
	if v.Size() == 64 {
		u := c.ZMM()
		for _, imm := range []uint8{0x4e, 0xb1} { // swap 256-bit halves, then 128-bit lanes
			c.VSHUFF64X2(U8(imm), v, v, u)
			c.VADDPD(u, v, v)
		}
		c.VPERMILPD(U8(0x55), v, u) // swap the lanes of each pair
		c.VADDPD(u, v, v)
		return v.AsX()
	}
	s, hi := v.AsX(), c.XMM()
	c.VEXTRACTF128(U8(1), v, hi)
	c.VADDPD(hi, s, s)
	c.VPERMILPD(U8(1), s, hi)
	c.VADDSD(hi, s, s)
	return s
}

// lowerSplit512 is the AVX-512 version: a block is 16 entries. VPCMPGTD
// compares them with below into a K mask, KNOTW gives its complement, and
// KSHIFTRW moves the high bytes down; m = h·g (VMOVUPS, VMULPS from
// memory) is widened a half at a time (VCVTPS2PD, the high half extracted
// with VEXTRACTF64X4). Each half is added to an accumulator under the mask
// and to its 8 entries of col (loaded whole) under the complement (merge
// masking), then stored whole. One iteration does accs/2 blocks; the
// remaining whole blocks go to acc[0], acc[1]; the last len mod 16 entries
// are one block under a mask of their count, with masked loads and stores
// (which fault on no masked-out element). Every instruction is an AVX512F
// one on ZMM or K registers (see avx512).
func lowerSplit512(c *build.Context, accs int) {
	c.Commentf("Register budget: %d accumulators + below + 3 temporaries = %d of 32 ZMM; 4 K, 6 in the tail.", accs, accs+4)
	const block = 16 // entries a block: one ZMM of int32
	blocks := accs / 2
	unit := block * blocks
	h, g, rank, col := ptr(c, "h"), ptr(c, "g"), ptr(c, "rank"), ptr(c, "col")
	n := c.Load(c.Param("h").Len(), c.GP64()).(reg.GPVirtual)
	// From a general register: go vet's asmdecl check takes the memory
	// form's operand for 64 bytes.
	below := c.ZMM()
	c.VPBROADCASTD(c.Load(c.Param("below"), c.GP32()), below)
	acc := make([]reg.VecVirtual, accs)
	for i := range acc {
		acc[i] = c.ZMM()
		c.VPXORD(acc[i], acc[i], acc[i])
	}
	ptrs := []reg.GPVirtual{h, g, rank}
	// blockAt splits the 16 entries at byte offset off into lo, hi and col.
	blockAt := func(off int, lo, hi reg.VecVirtual) {
		k := compare512(c, Mem{Base: rank}.Offset(off), below, nil)
		wl, wh := widen512(c, loadProduct512(c, Mem{Base: h}.Offset(off), Mem{Base: g}.Offset(off), nil))
		split512(c, wl, wh, k, lo, hi, Mem{Base: col}.Offset(2*off), nil)
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
	advance(c, ptrs, col, unit)
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
		advance(c, ptrs, col, block)
		c.DECQ(cnt)
		c.JNZ(LabelRef("block"))
	}

	c.Label("tail")
	c.Commentf("The last len mod %d entries: mask bits j < len mod %d.", block, block)
	c.ANDQ(U32(block-1), n)
	c.JZ(LabelRef("reduce"))
	in := tailMask512(c, n)
	k := compare512(c, Mem{Base: rank}, below, in)
	wl, wh := widen512(c, loadProduct512(c, Mem{Base: h}, Mem{Base: g}, in[0]))
	split512(c, wl, wh, k, acc[0], acc[1], Mem{Base: col}, in)

	c.Label("reduce")
	foldPairs(c, acc)
	c.VMOVSD(fold(c, acc[0]), addr(c.ReturnIndex(0)))
}

// masks512 are the K masks of one block of 16 entries: k (rank < below),
// kh (its high byte moved down), and their complements kc, kch.
type masks512 struct{ k, kh, kc, kch reg.Register }

// compare512 compares the 16 ranks at rank with below into K masks: the
// row takes the lanes with below > rank (VPCMPGTD), the column the others.
// in, when not nil, masks the entries that exist (tailMask512): the ranks
// are loaded under it and both sides are limited to it.
func compare512(c *build.Context, rank Mem, below reg.VecVirtual, in []reg.Register) masks512 {
	m := masks512{c.K(), c.K(), c.K(), c.K()}
	if in == nil {
		c.VPCMPGTD(rank, below, m.k) // k = below > rank
		c.KNOTW(m.k, m.kc)
	} else {
		r := c.ZMM()
		c.VMOVDQU32_Z(rank, in[0], r)
		c.VPCMPGTD(r, below, in[0], m.k) // k = in range && below > rank
		c.KANDNW(in[0], m.k, m.kc)       // kc = in range && !(below > rank)
	}
	c.KSHIFTRW(U8(8), m.k, m.kh)
	c.KSHIFTRW(U8(8), m.kc, m.kch)
	return m
}

// tailMask512 returns the K masks of bits j < n (n < 16, the entries of
// a last block), and their high byte moved down, for masked loads and
// stores.
func tailMask512(c *build.Context, n reg.GPVirtual) []reg.Register {
	c.MOVQ(n, reg.RCX)
	t := c.GP32()
	c.MOVL(U32(1), t)
	c.SHLL(reg.CL, t)
	c.DECL(t)
	kt, kth := c.K(), c.K()
	c.KMOVW(t, kt)
	c.KSHIFTRW(U8(8), kt, kth)
	return []reg.Register{kt, kth}
}

// laneMask512 returns the K masks (as tailMask512's) of the lanes
// lo ≤ l < hi, or l ≥ lo where hi is nil, from compares with the lane
// numbers: no shift, so no CX and no general register besides lo and hi,
// where AVX-512's sweepSplit has none to spare.
func laneMask512(c *build.Context, lo, hi reg.GPVirtual) []reg.Register {
	lanes := laneTable(c)
	v, kt, kth := c.ZMM(), c.K(), c.K()
	c.VPBROADCASTD(lo.As32(), v)
	c.VPCMPD(U8(2), lanes, v, kt) // lo ≤ l
	if hi != nil {
		c.VPBROADCASTD(hi.As32(), v)
		c.VPCMPD(U8(6), lanes, v, kt, kt) // and hi > l
	}
	c.KSHIFTRW(U8(8), kt, kth)
	return []reg.Register{kt, kth}
}

// laneTable returns the int32 lane numbers 0 … 15.
func laneTable(c *build.Context) Mem {
	return rodata(c, "lanes32", words(16, func(i int) uint32 { return uint32(i) })...)
}

// loadProduct512 returns m = h·g of the 16 entries at h and g, under the
// mask in (+0 where it is clear) if it is not nil.
func loadProduct512(c *build.Context, h, g Mem, in reg.Register) reg.VecVirtual {
	v := c.ZMM()
	if in == nil {
		c.VMOVUPS(h, v)
		c.VMULPS(g, v, v) // m = h·g
		return v
	}
	gv := c.ZMM()
	c.VMOVUPS_Z(h, in, v)
	c.VMOVUPS_Z(g, in, gv)
	c.VMULPS(gv, v, v) // m = h·g in range, else +0
	return v
}

// widen512 returns the float64 halves of the float32 vector v.
func widen512(c *build.Context, v reg.VecVirtual) (wl, wh reg.VecVirtual) {
	wl, hy, wh := c.ZMM(), c.YMM(), c.ZMM()
	c.VCVTPS2PD(v.AsY(), wl)
	c.VEXTRACTF64X4(U8(1), v, hy)
	c.VCVTPS2PD(hy, wh)
	return wl, wh
}

// split512 adds the halves wl, wh of a block to lo, hi under m.k and m.kh,
// and to the 16 float64 at col under the complements (merge masking); in,
// when not nil, masks the entries that exist, for the masked loads and
// stores of col.
func split512(c *build.Context, wl, wh reg.VecVirtual, m masks512, lo, hi reg.VecVirtual, col Mem, in []reg.Register) {
	c.VADDPD(wl, lo, m.k, lo)
	c.VADDPD(wh, hi, m.kh, hi)
	addColumns512(c, wl, wh, m.kc, m.kch, col, in)
}

// compareColumn512 compares the 16 ranks at rank with below into the K
// masks of the column side, rank ≥ below (VPCMPD LE), and its high byte
// moved down; in, when not nil, limits them to the entries that exist.
func compareColumn512(c *build.Context, rank Mem, below reg.VecVirtual, in []reg.Register) (kc, kch reg.Register) {
	kc, kch = c.K(), c.K()
	if in == nil {
		c.VPCMPD(U8(2), rank, below, kc) // below ≤ rank
	} else {
		r := c.ZMM()
		c.VMOVDQU32_Z(rank, in[0], r)
		c.VPCMPD(U8(2), r, below, in[0], kc)
	}
	c.KSHIFTRW(U8(8), kc, kch)
	return kc, kch
}

// addColumns512 adds the halves wl and wh of a block to the 16 columns at
// col where kc and kch are set (col + m, so that a column's NaN stays its
// own); in, when not nil, limits the loads and stores to the entries that
// exist.
func addColumns512(c *build.Context, wl, wh reg.VecVirtual, kc, kch reg.Register, col Mem, in []reg.Register) {
	for i, half := range []struct {
		w  reg.VecVirtual
		kc reg.Register
	}{{wl, kc}, {wh, kch}} {
		cm, cv := col.Offset(64*i), c.ZMM()
		if in == nil {
			c.VMOVUPD(cm, cv)
			c.VADDPD(half.w, cv, half.kc, cv) // col + m where rank ≥ below
			c.VMOVUPD(cv, cm)
			continue
		}
		c.VMOVUPD_Z(cm, in[i], cv)
		c.VADDPD(half.w, cv, half.kc, cv)
		c.VMOVUPD(cv, half.kc, cm)
	}
}
