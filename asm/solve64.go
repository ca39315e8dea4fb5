package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// dotBlock is the library's dot4 block: the entries whose products go
// to the eight partial sums of one right-hand side, entry i to partial
// i mod 8 (dot4Func, kernel.go).
const dotBlock = 8

// dot4 emits dot4<ISA>, the dot4Func of the instruction set (kernel.go;
// the reference is dot4Generic in compensate_solve.go): four float64 dot
// products of a with b0…b3 in the contract's order, so that the result is
// the generic one bit for bit. A right-hand side's eight partials are one
// ZMM or two YMM accumulators; a block loads a once and fuses the four
// products from memory (VFMADD231PD), one index for all five arrays. The
// partials fold as the contract adds them, (l, l+4), (l, l+2), (0, 1), in
// full-width registers for AVX-512 (no VL); the entries past the last
// block are fused one by one into the folded sum (VFMADD231SD).
func (x *isa) dot4(c *build.Context) {
	name := "dot4" + x.name
	leafFunction(c, name, dot4Sig,
		fmt.Sprintf("%s sets s[k] to the float64 dot product of a with bk (len(a)", name),
		fmt.Sprintf("entries) for k < 4, with %s. It implements dot4Func (kernel.go);", x.title),
		"refer to dot4Generic in compensate_solve.go.",
	)
	vecs := dotBlock / x.f64Lanes()
	c.Commentf("Register budget: 4×%d accumulators + %d for a = %d %s.", vecs, vecs, 5*vecs, x.regName())
	a := ptr(c, "a")
	var b [4]reg.GPVirtual
	for k := range b {
		b[k] = ptr(c, fmt.Sprintf("b%d", k))
	}
	n, whole, i := x.byteCounts(c, "a", dotBlock)
	var acc [4][]reg.VecVirtual
	for k := range acc {
		for range vecs {
			v := x.vec(c)
			x.zero(c, v)
			acc[k] = append(acc[k], v)
		}
	}
	at := func(p reg.GPVirtual, off int) Mem { return Mem{Base: p, Index: i, Scale: 1}.Offset(off) }
	c.Commentf("Blocks of %d: entry 8m+l into partial l of each right-hand side.", dotBlock)
	c.CMPQ(i, whole)
	c.JAE(LabelRef("fold"))
	c.Label("block")
	av := make([]reg.VecVirtual, vecs)
	for v := range av {
		av[v] = x.vec(c)
		c.VMOVUPD(at(a, v*x.vecBytes()), av[v])
	}
	for k := range acc {
		for v := range av {
			c.VFMADD231PD(at(b[k], v*x.vecBytes()), av[v], acc[k][v])
		}
	}
	c.ADDQ(U32(8*dotBlock), i)
	c.CMPQ(i, whole)
	c.JB(LabelRef("block"))

	c.Label("fold")
	for k := range acc {
		x.fold8(c, acc[k])
	}
	c.Comment("The entries past the last block, one by one into the folded sums.")
	c.CMPQ(i, n)
	c.JAE(LabelRef("store"))
	c.Label("tail")
	t := c.XMM()
	c.VMOVSD(at(a, 0), t)
	for k := range acc {
		c.VFMADD231SD(at(b[k], 0), t, acc[k][0].AsX())
	}
	c.ADDQ(U32(8), i)
	c.CMPQ(i, n)
	c.JB(LabelRef("tail"))

	c.Label("store")
	s := c.Load(c.Param("s"), c.GP64())
	for k := range acc {
		c.VMOVSD(acc[k][0].AsX(), Mem{Base: s}.Offset(8*k))
	}
	c.VZEROUPPER()
	c.RET()
}

// byteCounts loads the length of slice param as a byte count n, the bytes
// of its whole blocks of block float64 (whole), and a zeroed index i.
func (x *isa) byteCounts(c *build.Context, param string, block int) (n, whole, i reg.GPVirtual) {
	n = c.Load(c.Param(param).Len(), c.GP64()).(reg.GPVirtual)
	c.SHLQ(U8(3), n)
	whole = c.GP64()
	c.MOVQ(n, whole)
	c.ANDQ(I32(-8*block), whole)
	i = c.GP64()
	c.XORQ(i, i)
	return n, whole, i
}

// fold8 adds a right-hand side's eight partials p as dot4Func does:
// p_l + p_{l+4}, then (l, l+2), then (0, 1), leaving the sum in the low
// lane of acc[0]. AVX-512 holds them in one ZMM and folds with 128-bit
// chunk shuffles on ZMM (AVX512F alone); AVX2 holds p0–3 and p4–7 in two
// YMM.
func (x *isa) fold8(c *build.Context, acc []reg.VecVirtual) {
	s := acc[0]
	if len(acc) == 1 {
		t := c.ZMM()
		c.VSHUFF64X2(U8(0xee), s, s, t) // chunks 2, 3 (p4–7) to 0, 1
		c.VADDPD(t, s, s)
		c.VSHUFF64X2(U8(0x01), s, s, t) // chunk 1 (lanes 2, 3) to 0
		c.VADDPD(t, s, s)
		c.VPERMILPD(U8(0x01), s, t) // lane 1 to 0
		c.VADDPD(t, s, s)
		return
	}
	c.VADDPD(acc[1], s, s)
	t := c.XMM()
	c.VEXTRACTF128(U8(1), s, t)
	c.VADDPD(t, s.AsX(), s.AsX())
	c.VPERMILPD(U8(0x01), s.AsX(), t)
	c.VADDSD(t, s.AsX(), s.AsX())
}

// axpy4 emits axpy4<ISA>, the axpy4Func of the instruction set
// (kernel.go; the reference is axpy4Generic in compensate_solve.go):
// yk += s[k]·x for k < 4, entry by entry with one rounding (VFMADD231PD),
// so any width agrees with the generic one bit for bit. A step loads a
// register of x once for the four; the entries past the last whole
// register go one by one (VFMADD231SD).
func (x *isa) axpy4(c *build.Context) {
	name := "axpy4" + x.name
	leafFunction(c, name, axpy4Sig,
		fmt.Sprintf("%s adds s[k]·x to yk (len(x) entries) for k < 4, one rounding", name),
		fmt.Sprintf("an entry, with %s. It implements axpy4Func (kernel.go); refer", x.title),
		"to axpy4Generic in compensate_solve.go.",
	)
	c.Commentf("Register budget: 4 factors + x + 4 temporaries = 9 %s.", x.regName())
	xp := ptr(c, "x")
	var y [4]reg.GPVirtual
	for k := range y {
		y[k] = ptr(c, fmt.Sprintf("y%d", k))
	}
	s := c.Load(c.Param("s"), c.GP64())
	var f [4]reg.VecVirtual
	for k := range f {
		f[k] = x.vec(c)
		c.VBROADCASTSD(Mem{Base: s}.Offset(8*k), f[k])
	}
	n, whole, i := x.byteCounts(c, "x", x.f64Lanes())
	at := func(p reg.GPVirtual) Mem { return Mem{Base: p, Index: i, Scale: 1} }
	c.CMPQ(i, whole)
	c.JAE(LabelRef("tail"))
	c.Label("step")
	xv := x.vec(c)
	c.VMOVUPD(at(xp), xv)
	for k := range y {
		t := x.vec(c)
		c.VMOVUPD(at(y[k]), t)
		c.VFMADD231PD(xv, f[k], t)
		c.VMOVUPD(t, at(y[k]))
	}
	c.ADDQ(U32(x.vecBytes()), i)
	c.CMPQ(i, whole)
	c.JB(LabelRef("step"))

	c.Label("tail")
	c.CMPQ(i, n)
	c.JAE(LabelRef("done"))
	xs := c.XMM()
	c.VMOVSD(at(xp), xs)
	for k := range y {
		t := c.XMM()
		c.VMOVSD(at(y[k]), t)
		c.VFMADD231SD(xs, f[k].AsX(), t)
		c.VMOVSD(t, at(y[k]))
	}
	c.ADDQ(U32(8), i)
	c.JMP(LabelRef("tail"))

	c.Label("done")
	c.VZEROUPPER()
	c.RET()
}
