package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// packGram emits packGram<ISA>, the packGramFunc of the instruction set
// (kernel.go; the reference is packGramGeneric in kernel_generic.go): one
// row of a Gram block copied into its mr-channel and nr-channel panels,
// whole panels only. A panel is moved with as few loads and stores as
// its width takes: whole vectors, then (AVX-512) one load and store under
// a K mask of the rest, or (AVX2) an XMM, a MOVQ and a MOVL as needed. A
// copy, so it agrees with the generic one bit for bit. Go's copy did this
// at a call per panel (171 calls of 24 bytes a 1024-channel row for AVX2's
// six-channel panels).
func (x *isa) packGram(c *build.Context, mr, nr int) {
	name := "packGram" + x.name
	leafFunction(c, name, packGramSig,
		fmt.Sprintf("%s copies x[p·%d:(p+1)·%d] to a[p·rows·%d:] for p < len(x)/%d and", name, mr, mr, mr, mr),
		fmt.Sprintf("x[p·%d:(p+1)·%d] to w[p·rows·%d:] for p < len(x)/%d, with %s. It implements", nr, nr, nr, nr, x.title),
		"packGramFunc (kernel.go); refer to packGramGeneric in kernel_generic.go.",
	)
	src := ptr(c, "x")
	n := c.Load(c.Param("x").Len(), c.GP64()).(reg.GPVirtual)
	rows := c.Load(c.Param("rows"), c.GP64()).(reg.GPVirtual)
	for _, l := range []struct {
		dst   string
		width int
	}{{"a", mr}, {"w", nr}} {
		x.packPanels(c, l.dst, ptr(c, l.dst), src, n, rows, l.width)
	}
	c.VZEROUPPER()
	c.RET()
}

// packPanels emits the loop that copies the whole width-channel panels of
// the row at src (n channels) to dst, one panel every rows·width floats.
func (x *isa) packPanels(c *build.Context, label string, dst, src, n, rows reg.GPVirtual, width int) {
	c.Commentf("The %d-channel panels.", width)
	stride, p, left := c.GP64(), c.GP64(), c.GP64()
	c.IMUL3Q(U32(4*width), rows, stride) // bytes between panels
	c.MOVQ(src, p)
	c.MOVQ(n, left)
	var mask reg.Register
	whole := width / x.lanes * x.lanes // floats in whole vectors
	if x.lanes == 16 && width > whole {
		mask = c.K()
		g := c.GP32()
		c.MOVL(U32(1<<(width-whole)-1), g)
		c.KMOVW(g, mask)
	}
	c.Label(label + "panel")
	c.CMPQ(left, U32(width))
	c.JB(LabelRef(label + "done"))
	for off := 0; off < 4*whole; off += x.vecBytes() {
		v := x.vec(c)
		c.VMOVUPS(Mem{Base: p, Disp: off}, v)
		c.VMOVUPS(v, Mem{Base: dst, Disp: off})
	}
	if mask != nil {
		v := c.ZMM()
		c.VMOVUPS_Z(Mem{Base: p, Disp: 4 * whole}, mask, v)
		c.VMOVUPS(v, mask, Mem{Base: dst, Disp: 4 * whole})
	} else {
		x.packRest(c, p, dst, whole, width)
	}
	c.ADDQ(U32(4*width), p)
	c.ADDQ(stride, dst)
	c.SUBQ(U32(width), left)
	c.JMP(LabelRef(label + "panel"))
	c.Label(label + "done")
}

// packRest copies a panel's floats past its whole vectors, from index
// from to width−1, AVX2's way: an XMM of four, a MOVQ of two, a MOVL of
// one.
func (x *isa) packRest(c *build.Context, p, dst reg.GPVirtual, from, width int) {
	for at := from; at < width; {
		src, to := Mem{Base: p, Disp: 4 * at}, Mem{Base: dst, Disp: 4 * at}
		switch left := width - at; {
		case left >= 4:
			v := c.XMM()
			c.VMOVUPS(src, v)
			c.VMOVUPS(v, to)
			at += 4
		case left >= 2:
			g := c.GP64()
			c.MOVQ(src, g)
			c.MOVQ(g, to)
			at += 2
		default:
			g := c.GP32()
			c.MOVL(src, g)
			c.MOVL(g, to)
			at++
		}
	}
}
