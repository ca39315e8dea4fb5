package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// readBlock is the float32 elements one iteration of readSum reads (512
// bytes): the contract's length unit, the same for every ISA (kernel.go).
const readBlock = 128

// readSum emits readSum<ISA>, the readSumFunc of the instruction set
// (kernel.go; the reference is readSumGeneric): the float32 sum of x,
// len(x) a multiple of readBlock, read with full-width loads into accs
// independent accumulators, to measure how fast a core streams memory.
// Every load feeds an add (from memory), so none can be dropped, and the
// sum lets the tests check that every element was read once. Both add
// with VADDPS from memory (AVX alone for AVX2, within its family's AVX,
// FMA3). The horizontal sum stays in full-width registers and AVX512F
// instructions, so no VL is needed.
func (x *isa) readSum(c *build.Context, accs int) {
	name := "readSum" + x.name
	loads := readBlock / x.lanes
	if loads%accs != 0 || accs&(accs-1) != 0 || accs+2 > x.regs {
		panic(fmt.Sprintf("%s: %d accumulators for %d loads", name, accs, loads))
	}
	c.Function(name)
	c.Attributes(attr.NOSPLIT)
	c.Signature(signature(readSumSig))
	c.Pragma("noescape")
	c.Doc(
		fmt.Sprintf("%s returns the float32 sum of x, len(x) a multiple of %d, read with", name, readBlock),
		fmt.Sprintf("%s loads into %d independent accumulators. It implements", x.regName(), accs),
		"readSumFunc (kernel.go); refer to readSumGeneric in kernel_generic.go.",
	)
	c.Commentf("Register budget: %d accumulators + 1 temporary of %d %s.", accs, x.regs, x.regName())
	p := c.Load(c.Param("x").Base(), c.GP64()).(reg.GPVirtual)
	n := c.Load(c.Param("x").Len(), c.GP64()).(reg.GPVirtual)
	acc := make([]reg.VecVirtual, accs)
	for i := range acc {
		acc[i] = x.vec(c)
		x.zero(c, acc[i])
	}
	c.Commentf("Blocks of %d elements: %d loads, each added into accumulator i mod %d.", readBlock, loads, accs)
	c.SHRQ(U8(7), n) // len / readBlock
	c.JZ(LabelRef("reduce"))
	c.Label("loop")
	for i := range loads {
		c.VADDPS(Mem{Base: p}.Offset(i*x.vecBytes()), acc[i%accs], acc[i%accs])
	}
	c.ADDQ(U32(4*readBlock), p)
	c.DECQ(n)
	c.JNZ(LabelRef("loop"))

	c.Label("reduce")
	for h := accs / 2; h >= 1; h /= 2 {
		for i := range h {
			c.VADDPS(acc[i+h], acc[i], acc[i])
		}
	}
	s, t := acc[0], x.vec(c)
	if x.lanes == 16 {
		// 512 → 256 → 128 bits: lanes [2,3] then [1] onto lane 0.
		c.VSHUFF32X4(U8(0xee), s, s, t)
		c.VADDPS(t, s, s)
		c.VSHUFF32X4(U8(0x01), s, s, t)
		c.VADDPS(t, s, s)
	} else {
		c.VEXTRACTF128(U8(1), s, t.AsX())
		c.VADDPS(t, s, s)
	}
	// Within 128 bits: swap the halves, then neighbours.
	c.VPERMILPS(U8(0x4e), s, t)
	c.VADDPS(t, s, s)
	c.VPERMILPS(U8(0xb1), s, t)
	c.VADDPS(t, s, s)
	c.VMOVSS(s.AsX(), addr(c.ReturnIndex(0)))
	c.VZEROUPPER()
	c.RET()
}
