package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// widenAdd emits widenAdd<ISA>, the widenAddFunc of the instruction set
// (kernel.go; the reference is widenAddGeneric in kernel_generic.go):
// dst[i] += float64(src[i]) for i < len(src). Widening is exact and each
// add rounds once, so any width agrees with the generic one bit for bit.
// A step widens two registers' worth straight from memory (VCVTPS2PD),
// adds dst from memory and stores; the entries past the last step go one
// by one (VCVTSS2SD, VADDSD).
func (x *isa) widenAdd(c *build.Context) {
	name := "widenAdd" + x.name
	leafFunction(c, name, widenAddSig,
		fmt.Sprintf("%s adds src, widened to float64, to dst (len(src) entries), with", name),
		fmt.Sprintf("%s. It implements widenAddFunc (kernel.go); refer to", x.title),
		"widenAddGeneric in kernel_generic.go.",
	)
	c.Commentf("Register budget: 2 %s.", x.regName())
	dst, src := ptr(c, "dst"), ptr(c, "src")
	n := c.Load(c.Param("src").Len(), c.GP64()).(reg.GPVirtual)
	stepsThenOnes(c, n, 2*x.f64Lanes(), func(at indexed) {
		for h := range 2 {
			v := x.vec(c)
			c.VCVTPS2PD(at(src, 4, 2*h*x.vecBytes()/4), v)
			c.VADDPD(at(dst, 8, h*x.vecBytes()), v, v)
			c.VMOVUPD(v, at(dst, 8, h*x.vecBytes()))
		}
	}, func(at indexed) {
		t := c.XMM()
		c.VCVTSS2SD(at(src, 4, 0), t, t)
		c.VADDSD(at(dst, 8, 0), t, t)
		c.VMOVSD(t, at(dst, 8, 0))
	})
	c.VZEROUPPER()
	c.RET()
}

// indexed addresses the entry at the loop's index (entries of scale
// bytes) from base p, off bytes on.
type indexed func(p reg.GPVirtual, scale uint8, off int) Mem

// stepsThenOnes emits a loop over the n entries (a general register) from
// the first: step entries at a time (whole), then the entries past the last
// whole step one at a time (one), each addressing memory by the loop's
// index (at).
func stepsThenOnes(c *build.Context, n reg.GPVirtual, step int, whole, one func(at indexed)) {
	last := c.GP64() // where the whole steps end
	c.MOVQ(n, last)
	c.ANDQ(I32(-step), last)
	i := c.GP64()
	c.XORQ(i, i)
	at := func(p reg.GPVirtual, scale uint8, off int) Mem {
		return Mem{Base: p, Index: i, Scale: scale}.Offset(off)
	}
	c.CMPQ(i, last)
	c.JAE(LabelRef("tail"))
	c.Label("step")
	whole(at)
	c.ADDQ(U32(step), i)
	c.CMPQ(i, last)
	c.JB(LabelRef("step"))

	c.Label("tail")
	c.CMPQ(i, n)
	c.JAE(LabelRef("done"))
	one(at)
	c.INCQ(i)
	c.JMP(LabelRef("tail"))
	c.Label("done")
}
