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
	step := 2 * x.f64Lanes()
	whole := c.GP64()
	c.MOVQ(n, whole)
	c.ANDQ(I32(-step), whole)
	i := c.GP64()
	c.XORQ(i, i)
	at := func(p reg.GPVirtual, scale uint8, off int) Mem {
		return Mem{Base: p, Index: i, Scale: scale}.Offset(off)
	}
	c.CMPQ(i, whole)
	c.JAE(LabelRef("tail"))
	c.Label("step")
	for h := range 2 {
		v := x.vec(c)
		c.VCVTPS2PD(at(src, 4, 2*h*x.vecBytes()/4), v)
		c.VADDPD(at(dst, 8, h*x.vecBytes()), v, v)
		c.VMOVUPD(v, at(dst, 8, h*x.vecBytes()))
	}
	c.ADDQ(U32(step), i)
	c.CMPQ(i, whole)
	c.JB(LabelRef("step"))

	c.Label("tail")
	c.CMPQ(i, n)
	c.JAE(LabelRef("done"))
	t := c.XMM()
	c.VCVTSS2SD(at(src, 4, 0), t, t)
	c.VADDSD(at(dst, 8, 0), t, t)
	c.VMOVSD(t, at(dst, 8, 0))
	c.INCQ(i)
	c.JMP(LabelRef("tail"))

	c.Label("done")
	c.VZEROUPPER()
	c.RET()
}
