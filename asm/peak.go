package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// peak emits peak<ISA>(n): n iterations of chains independent FMAs on
// registers only, enough chains to cover FMA latency (4 cycles) on two FMA
// ports with room to spare. It returns the flops of one iteration.
func (x *isa) peak(c *build.Context, chains int) int {
	name := "peak" + x.name
	flops := chains * x.lanes * 2
	c.Function(name)
	c.Attributes(attr.NOSPLIT)
	c.Signature(signature(peakSig))
	c.Pragma("noescape")
	c.Doc(
		fmt.Sprintf("%s runs n iterations of %d independent %s FMAs, %d flops each,", name, chains, x.regName(), flops),
		fmt.Sprintf("to measure the %s limit of one core.", x.title),
	)
	// 2 FMA ports × 4-cycle latency is 8 chains at least (Haswell to
	// Sapphire Rapids, Zen 3 and 4); half as many again leaves room for
	// a slower FMA and for the loop's own uops.
	if chains < 12 || chains+2 > x.regs {
		panic(fmt.Sprintf("%s: %d chains, want 12 to %d", name, chains, x.regs-2))
	}
	c.Commentf("Register budget: %d accumulators + 2 operands = %d of %d %s.", chains, chains+2, x.regs, x.regName())
	n := c.Load(c.Param("n"), c.GP64()).(reg.GPVirtual)
	acc := make([]reg.VecVirtual, chains)
	for i := range acc {
		acc[i] = x.vec(c)
		x.zero(c, acc[i])
	}
	p, q := x.vec(c), x.vec(c)
	x.zero(c, p)
	x.zero(c, q)
	c.TESTQ(n, n)
	c.JLE(LabelRef("done")) // if n <= 0: return
	c.Label("loop")
	for _, v := range acc {
		c.VFMADD231PS(p, q, v)
	}
	c.DECQ(n)
	c.JNZ(LabelRef("loop"))
	c.Label("done")
	c.VZEROUPPER()
	c.RET()
	return flops
}
