package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// moveAdd emits moveAdd<ISA>, the moveAddFunc of the instruction set
// (kernel.go; the reference is moveAddGeneric in kernel_generic.go):
// dst[i] += src[i], then src[i] = 0, for i < len(src). Each add rounds
// once, so any width agrees with the generic one bit for bit. A step adds
// two registers of src to dst from memory and stores them and a zero
// register; the entries past the last step go one by one.
func (x *isa) moveAdd(c *build.Context) {
	name := "moveAdd" + x.name
	leafFunction(c, name, moveAddSig,
		fmt.Sprintf("%s adds src to dst (len(src) entries) and zeroes src, with", name),
		fmt.Sprintf("%s. It implements moveAddFunc (kernel.go); refer to", x.title),
		"moveAddGeneric in kernel_generic.go.",
	)
	c.Commentf("Register budget: 3 %s.", x.regName())
	dst, src := ptr(c, "dst"), ptr(c, "src")
	n := c.Load(c.Param("src").Len(), c.GP64()).(reg.GPVirtual)
	zero := x.vec(c)
	x.zero(c, zero)
	stepsThenOnes(c, n, 2*x.f64Lanes(), func(at indexed) {
		for h := range 2 {
			v := x.vec(c)
			c.VMOVUPD(at(src, 8, h*x.vecBytes()), v)
			c.VADDPD(at(dst, 8, h*x.vecBytes()), v, v)
			c.VMOVUPD(v, at(dst, 8, h*x.vecBytes()))
			c.VMOVUPD(zero, at(src, 8, h*x.vecBytes()))
		}
	}, func(at indexed) {
		t := c.XMM()
		c.VMOVSD(at(src, 8, 0), t)
		c.VADDSD(at(dst, 8, 0), t, t)
		c.VMOVSD(t, at(dst, 8, 0))
		c.MOVQ(U32(0), at(src, 8, 0))
	})
	c.VZEROUPPER()
	c.RET()
}
