package main

import (
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// An isa is one x86 vector instruction set as the kernels use it: the width
// of its registers and the few instructions that differ between VEX (AVX2)
// and EVEX (AVX-512) encodings. Everything else is written once, in terms of
// these, by the generators in eval.go, gemm.go, peak.go, lowersplit.go and contract.go.
type isa struct {
	name  string // in kernel names: evalAVX2_6x16
	title string // in doc comments
	lanes int    // float32 lanes of one vector register
	regs  int    // vector registers the instruction set has

	// vec allocates a vector register of this width.
	vec func(*build.Context) reg.VecVirtual
	// zero sets v to zero.
	zero func(c *build.Context, v reg.VecVirtual)
	// reduce adds the horizontal sums of the four float64 accumulators
	// v[0..3] to the four float64 at s, in that order.
	reduce func(c *build.Context, v [4]reg.VecVirtual, s Mem)
}

// vecBytes is the size of one vector register in bytes.
func (x *isa) vecBytes() int { return 4 * x.lanes }

// f64Lanes is the number of float64 lanes in one vector register.
func (x *isa) f64Lanes() int { return x.lanes / 2 }

// regName names the registers in comments: YMM or ZMM.
func (x *isa) regName() string {
	if x.lanes == 16 {
		return "ZMM"
	}
	return "YMM"
}

// avx2 is AVX2-class code on YMM registers. Its eval and gemm kernels need
// only AVX and FMA3; others (lowerSplit, lowerSplitSets, the bfloat16
// kernels) use AVX2 instructions, as each function's Requires line says.
var avx2 = &isa{
	name:  "AVX2",
	title: "AVX2+FMA",
	lanes: 8,
	regs:  16,
	vec:   (*build.Context).YMM,
	zero: func(c *build.Context, v reg.VecVirtual) {
		c.VXORPS(v, v, v)
	},
	reduce: func(c *build.Context, v [4]reg.VecVirtual, s Mem) {
		// [a0+a1, b0+b1, a2+a3, b2+b3] and likewise for c, d.
		c.VHADDPD(v[1], v[0], v[0])
		c.VHADDPD(v[3], v[2], v[2])
		// [ab.lo, cd.lo] + [ab.hi, cd.hi] = [Σa, Σb, Σc, Σd].
		c.VPERM2F128(U8(0x20), v[2], v[0], v[1])
		c.VPERM2F128(U8(0x31), v[2], v[0], v[3])
		c.VADDPD(v[3], v[1], v[1])
		c.VADDPD(s, v[1], v[1])
		c.VMOVUPD(v[1], s)
	},
}

// avx512 is AVX-512 code on ZMM registers. Every instruction is an AVX512F
// one on ZMM (or K) registers, so AVX512DQ, BW and VL are not needed: VPXORD
// zeroes rather than VXORPS (DQ), and the final reduction stays in ZMM
// registers, since a YMM or XMM register the allocator numbered 16 or more
// would need VL.
var avx512 = &isa{
	name:  "AVX512",
	title: "AVX-512",
	lanes: 16,
	regs:  32,
	vec:   (*build.Context).ZMM,
	zero: func(c *build.Context, v reg.VecVirtual) {
		c.VPXORD(v, v, v)
	},
	reduce: reduce512,
}

// reduce512 folds four ZMM float64 accumulators a, b, c, d into
// [Σa, Σb, Σc, Σd] and adds that to the four float64 at s. All steps are
// AVX512F instructions on ZMM and K registers.
func reduce512(c *build.Context, v [4]reg.VecVirtual, s Mem) {
	a, b, cc, d := v[0], v[1], v[2], v[3]
	t := c.ZMM()
	// Halves: ab = [a.l0+a.l2, a.l1+a.l3, b.l0+b.l2, b.l1+b.l3] in 128-bit
	// lanes (imm picks lanes 0,1 of the first source and 0,1 of the second,
	// then 2,3 and 2,3).
	c.VSHUFF64X2(U8(0x44), b, a, t)
	c.VSHUFF64X2(U8(0xee), b, a, a)
	c.VADDPD(t, a, a)
	c.VSHUFF64X2(U8(0x44), d, cc, t)
	c.VSHUFF64X2(U8(0xee), d, cc, cc)
	c.VADDPD(t, cc, cc)
	// Quarters: [ab.l0, ab.l2, cd.l0, cd.l2] + [ab.l1, ab.l3, cd.l1, cd.l3]
	// = one 128-bit lane of two partial sums each for a, b, c, d.
	c.VSHUFF64X2(U8(0x88), cc, a, t)
	c.VSHUFF64X2(U8(0xdd), cc, a, a)
	c.VADDPD(t, a, a)
	// Pairs: [Σa Σa Σb Σb Σc Σc Σd Σd], then keep the even lanes.
	c.VPERMILPD(U8(0x55), a, t)
	c.VADDPD(t, a, a)
	k := c.K()
	g := c.GP32()
	c.MOVL(U32(0x55), g)
	c.KMOVW(g, k)
	c.VCOMPRESSPD_Z(a, k, t)
	// Add to the four float64 at s; the masked load and store touch only
	// those 32 bytes.
	c.MOVL(U32(0x0f), g)
	c.KMOVW(g, k)
	c.VMOVUPD_Z(s, k, a)
	c.VADDPD(t, a, a)
	c.VMOVUPD(a, k, s)
}
