package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// contractBlock is the library's contractBlock: the entries one iteration
// of contract takes, a multiple of both instruction sets' float64 lanes.
const contractBlock = 8

// contract emits contract<ISA>, the contractFunc of the instruction set
// (kernel.go; the reference is contractGeneric in kernel_generic.go). A
// step widens f64Lanes entries of h, g, mask, hd and gd straight from memory
// (VCVTPS2PD m→register) and forms v = h·g and w = fg·(h·h·gd) +
// fh·(g·g·hd); four accumulators take Σv, Σv·mask, Σw, Σw·mask. A step is
// about 17 vector operations into four chains, so the chains never wait on
// the add latency. An iteration is contractBlock entries (one AVX-512 step,
// two AVX2 steps); the caller contracts the rest (len mod contractBlock) in
// Go, so nothing at or past len(h) is read.
func (x *isa) contract(c *build.Context) {
	name := "contract" + x.name
	leafFunction(c, name, contractSig,
		fmt.Sprintf("%s adds to s Σ h·g, Σ h·g·mask, Σ w and Σ w·mask with", name),
		fmt.Sprintf("w = fg·h²·gd + fh·g²·hd, in float64, with %s; len(h) a multiple", x.title),
		fmt.Sprintf("of %d. It implements contractFunc (kernel.go); refer to", contractBlock),
		"contractGeneric in kernel_generic.go.",
	)
	c.Commentf("Register budget: 4 sums + fg, fh + 6 temporaries = 12 %s.", x.regName())
	ptr := func(name string) reg.GPVirtual { return c.Load(c.Param(name).Base(), c.GP64()).(reg.GPVirtual) }
	h, g, mask, hd, gd := ptr("h"), ptr("g"), ptr("mask"), ptr("hd"), ptr("gd")
	n := c.Load(c.Param("h").Len(), c.GP64()).(reg.GPVirtual)
	fg, fh := x.vec(c), x.vec(c)
	if x.lanes == 16 {
		// From a general register: go vet's asmdecl check takes the
		// memory form's operand for the vector's size.
		for _, b := range []struct {
			name string
			v    reg.VecVirtual
		}{{"fg", fg}, {"fh", fh}} {
			r := c.GP64()
			c.MOVQ(addr(c.Param(b.name)), r)
			c.VPBROADCASTQ(r, b.v)
		}
	} else {
		c.VBROADCASTSD(addr(c.Param("fg")), fg)
		c.VBROADCASTSD(addr(c.Param("fh")), fh)
	}
	var acc [4]reg.VecVirtual
	for i := range acc {
		acc[i] = x.vec(c)
		x.zero(c, acc[i])
	}
	// step contracts the f64Lanes entries at byte offset off.
	step := func(off int) {
		hv, gv, mv, t, v, w := x.vec(c), x.vec(c), x.vec(c), x.vec(c), x.vec(c), x.vec(c)
		c.VCVTPS2PD(Mem{Base: h}.Offset(off), hv)
		c.VCVTPS2PD(Mem{Base: g}.Offset(off), gv)
		c.VCVTPS2PD(Mem{Base: mask}.Offset(off), mv)
		c.VMULPD(gv, hv, v) // v = h·g
		c.VADDPD(v, acc[0], acc[0])
		c.VFMADD231PD(mv, v, acc[1])
		c.VMULPD(hv, hv, hv)
		c.VCVTPS2PD(Mem{Base: gd}.Offset(off), t)
		c.VMULPD(t, hv, hv) // h²·gd
		c.VMULPD(gv, gv, gv)
		c.VCVTPS2PD(Mem{Base: hd}.Offset(off), t)
		c.VMULPD(t, gv, gv) // g²·hd
		c.VMULPD(fg, hv, w)
		c.VFMADD231PD(fh, gv, w) // w = fg·h²·gd + fh·g²·hd
		c.VADDPD(w, acc[2], acc[2])
		c.VFMADD231PD(mv, w, acc[3])
	}
	c.Commentf("Iterations of %d entries.", contractBlock)
	c.SHRQ(U8(3), n)
	c.JZ(LabelRef("reduce"))
	c.Label("loop")
	for off := 0; off < 4*contractBlock; off += 4 * x.f64Lanes() {
		step(off)
	}
	for _, p := range []reg.GPVirtual{h, g, mask, hd, gd} {
		c.ADDQ(U32(4*contractBlock), p)
	}
	c.DECQ(n)
	c.JNZ(LabelRef("loop"))

	c.Label("reduce")
	x.reduce(c, acc, Mem{Base: c.Load(c.Param("s"), c.GP64())})
	c.VZEROUPPER()
	c.RET()
}
