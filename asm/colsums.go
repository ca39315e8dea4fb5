package main

import (
	"fmt"
	"math/bits"

	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// columnSums emits columnSums<ISA>, the columnSumsFunc of the instruction
// set (kernel.go; the reference is columnSumsGeneric in kernel_generic.go):
// over the rows of one nr-channel Gram panel, in row order, each channel's
// value widened is added to its s and its square (exact: a float32
// squared) to its q. A lane is a channel, so every channel's adds are the
// generic ones in the same order and the sums agree bit for bit; the nr
// channels are nr/f64Lanes vectors of s and of q, held in registers over
// the rows.
func (x *isa) columnSums(c *build.Context, nr int) {
	name := "columnSums" + x.name
	leafFunction(c, name, columnSumsSig,
		fmt.Sprintf("%s adds to s[c] and q[c], c < %d, the sum of panel[t·%d+c] and of its", name, nr, nr),
		fmt.Sprintf("square over the rows t < len(panel)/%d, in row order, in float64, with %s.", nr, x.title),
		"It implements columnSumsFunc (kernel.go); refer to columnSumsGeneric in",
		"kernel_generic.go.",
	)
	vecs := nr / x.f64Lanes()
	c.Commentf("Register budget: %d sums + 2 temporaries = %d %s.", 2*vecs, 2*vecs+2, x.regName())
	p := ptr(c, "panel")
	rows := c.Load(c.Param("panel").Len(), c.GP64()).(reg.GPVirtual)
	c.SHRQ(U8(bits.TrailingZeros(uint(nr))), rows)
	sp, qp := ptr(c, "s"), ptr(c, "q")
	s, q := make([]reg.VecVirtual, vecs), make([]reg.VecVirtual, vecs)
	for k := range vecs {
		s[k], q[k] = x.vec(c), x.vec(c)
		c.VMOVUPD(Mem{Base: sp, Disp: k * x.vecBytes()}, s[k])
		c.VMOVUPD(Mem{Base: qp, Disp: k * x.vecBytes()}, q[k])
	}
	c.TESTQ(rows, rows)
	c.JZ(LabelRef("store"))
	c.Label("row")
	for k := range vecs {
		v, sq := x.vec(c), x.vec(c)
		c.VCVTPS2PD(Mem{Base: p, Disp: k * x.vecBytes() / 2}, v)
		c.VADDPD(v, s[k], s[k])
		c.VMULPD(v, v, sq)
		c.VADDPD(sq, q[k], q[k])
	}
	c.ADDQ(U32(4*nr), p)
	c.DECQ(rows)
	c.JNZ(LabelRef("row"))
	c.Label("store")
	for k := range vecs {
		c.VMOVUPD(s[k], Mem{Base: sp, Disp: k * x.vecBytes()})
		c.VMOVUPD(q[k], Mem{Base: qp, Disp: k * x.vecBytes()})
	}
	c.VZEROUPPER()
	c.RET()
}
