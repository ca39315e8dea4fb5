package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// packRowsMax is the most rows one packRows call takes: a general register
// holds each row's start, and 8 of them with the loop's 6 (dst, perm, the
// count, dst's step, the channel, the value) are the 14 that avo allocates
// (all but SP and BP). An 8-row tail panel is one call, a 14-row panel two.
const packRowsMax = 8

// packRows emits packRows, the packRowsFunc of every amd64 kernel
// (kernel.go; the reference is the Go loop of packActivationPanel in
// pack.go): dst[p·mr + r] = x[r·in + perm[p]] for p < len(perm), r < rows.
// It is plain scalar code, a load and a store a value, with no bounds
// checks and one loop per row count (1 to packRowsMax), so it serves the
// AVX2 and AVX-512 tables alike. A gather (VGATHERDPS) of a channel's 14
// rows took twice as long on the Zen 5 it was measured on.
func packRows(c *build.Context) {
	leafFunction(c, "packRows", packRowsSig,
		"packRows copies column perm[p] of rows r < rows of x (rows of in floats) to",
		"dst[p·mr + r], for every p. It implements packRowsFunc (kernel.go); refer to",
		"the Go loop of packActivationPanel in pack.go.",
	)
	dst, x, perm := ptr(c, "dst"), ptr(c, "x"), ptr(c, "perm")
	n := c.Load(c.Param("perm").Len(), c.GP64()).(reg.GPVirtual)
	step := c.Load(c.Param("mr"), c.GP64()).(reg.GPVirtual)
	c.SHLQ(U8(2), step) // dst advances mr floats a channel
	rows := c.Load(c.Param("rows"), c.GP64()).(reg.GPVirtual)
	stride := c.Load(c.Param("in"), c.GP64()).(reg.GPVirtual)
	start := make([]reg.GPVirtual, packRowsMax) // row r of x at start[r]
	start[0] = x
	for r := 1; r < packRowsMax; r++ {
		start[r] = c.GP64()
		c.LEAQ(Mem{Base: start[r-1], Index: stride, Scale: 4}, start[r])
	}
	c.TESTQ(n, n)
	c.JZ(LabelRef("done"))
	for k := packRowsMax; k > 1; k-- {
		c.CMPQ(rows, U8(k))
		c.JE(LabelRef(fmt.Sprintf("rows%d", k)))
	}
	c.CMPQ(rows, U8(1))
	c.JNE(LabelRef("done")) // rows out of 1..packRowsMax: nothing
	for k := 1; k <= packRowsMax; k++ {
		c.Label(fmt.Sprintf("rows%d", k))
		ch, v := c.GP64(), c.GP32()
		c.MOVLQSX(Mem{Base: perm}, ch)
		for r := range k {
			c.MOVL(Mem{Base: start[r], Index: ch, Scale: 4}, v)
			c.MOVL(v, Mem{Base: dst}.Offset(4*r))
		}
		c.ADDQ(U8(4), perm)
		c.ADDQ(step, dst)
		c.DECQ(n)
		c.JNZ(LabelRef(fmt.Sprintf("rows%d", k)))
		c.JMP(LabelRef("done"))
	}
	c.Label("done")
	c.RET()
}
