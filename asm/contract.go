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
// step widens f64Lanes entries of h and g straight from memory (VCVTPS2PD
// m→register), loads those of mask, hd and gd (float64 already), and
// forms v = h·g and w = fg·(h·h·gd) + fh·(g·g·hd) (contractRow.terms);
// four accumulators take Σv, Σv·mask, Σw, Σw·mask. A step is about 14
// vector operations into four chains, so the chains never wait on the add
// latency. An iteration is contractBlock entries (one AVX-512 step, two
// AVX2 steps); the last len mod contractBlock entries are the same steps
// on rows loaded under a mask of their count (zero past it: under a K
// mask, or VMASKMOVPS or VMASKMOVPD), which contract the row as if it went
// on with zeros, so nothing at or past len(h) is read. The Evaluate path
// calls it once a row segment, where a Go tail for the rest cost a tenth
// of the contraction.
func (x *isa) contract(c *build.Context) {
	name := "contract" + x.name
	leafFunction(c, name, contractSig,
		fmt.Sprintf("%s adds to s Σ h·g, Σ h·g·mask, Σ w and Σ w·mask with", name),
		fmt.Sprintf("w = fg·h²·gd + fh·g²·hd, in float64, with %s, any len(h).", x.title),
		"It implements contractFunc (kernel.go); refer to contractGeneric in",
		"kernel_generic.go.",
	)
	c.Commentf("Register budget: 4 sums + fg, fh + 6 temporaries = 12 %s.", x.regName())
	r := x.contractRow(c)
	mask := ptr(c, "mask")
	var acc [4]reg.VecVirtual
	for i := range acc {
		acc[i] = x.vec(c)
		x.zero(c, acc[i])
	}
	add := func(v, w, mv reg.VecVirtual) {
		c.VADDPD(v, acc[0], acc[0])
		c.VFMADD231PD(mv, v, acc[1])
		c.VADDPD(w, acc[2], acc[2])
		c.VFMADD231PD(mv, w, acc[3])
	}
	r.loop(c, x, nil, []reg.GPVirtual{mask}, func(off int) {
		mv := x.vec(c)
		c.VMOVUPD(Mem{Base: mask}.Offset(2*off), mv)
		v, w := r.terms(c, x, off)
		add(v, w, mv)
	})
	c.Commentf("The last len mod %d entries, widened under a mask of their count.", contractBlock)
	n := c.Load(c.Param("h").Len(), c.GP64()).(reg.GPVirtual)
	c.ANDQ(U32(contractBlock-1), n)
	c.JZ(LabelRef("sums"))
	x.maskedSteps(c, n, func(widen, load64 func(row reg.GPVirtual, dst reg.VecVirtual)) {
		mv := x.vec(c)
		load64(mask, mv)
		v, w := r.termsBy(c, x, widen, load64)
		add(v, w, mv)
	})
	c.Label("sums")
	x.reduce(c, acc, Mem{Base: c.Load(c.Param("s"), c.GP64())})
	c.VZEROUPPER()
	c.RET()
}

// contractSplit emits contractSplit<ISA>, the contractSplitFunc of the
// instruction set (kernel.go; the reference is contractSplitGeneric in
// kernel_generic.go): contract's v and w, the same arithmetic in the same
// order (contractRow.terms), without the mask, summed into two
// accumulators (Σv, Σw) and added to colV and colW entry by entry: VADDPD
// from memory and a full store per vector of each. A step is about 17 vector
// operations into two chains. Lengths as for contract.
func (x *isa) contractSplit(c *build.Context) {
	name := "contractSplit" + x.name
	leafFunction(c, name, contractSplitSig,
		fmt.Sprintf("%s adds to s[0] Σ v and to s[2] Σ w with v = h·g and", name),
		"w = fg·h²·gd + fh·g²·hd, in float64, and v_j to colV[j], w_j to colW[j],",
		fmt.Sprintf("with %s; len(h) a multiple of %d. It implements", x.title, contractBlock),
		"contractSplitFunc (kernel.go); refer to contractSplitGeneric in kernel_generic.go.",
	)
	c.Commentf("Register budget: 2 sums + fg, fh + 4 temporaries = 8 %s.", x.regName())
	r := x.contractRow(c)
	colV, colW := ptr(c, "colV"), ptr(c, "colW")
	sv, sw := x.vec(c), x.vec(c)
	x.zero(c, sv)
	x.zero(c, sw)
	r.loop(c, x, nil, []reg.GPVirtual{colV, colW}, func(off int) {
		v, w := r.terms(c, x, off)
		addSplit(c, v, w, sv, sw, Mem{Base: colV}.Offset(2*off), Mem{Base: colW}.Offset(2*off), addColumn)
	})
	addSplitSums(c, c.Load(c.Param("s"), c.GP64()), sv, sw)
	c.VZEROUPPER()
	c.RET()
}

// addSplit adds v to the sum sv and w to sw, and v to the column entries
// at colV and w to those at colW with add (v + col, one add each).
func addSplit(c *build.Context, v, w, sv, sw reg.VecVirtual, colV, colW Mem, add func(c *build.Context, col Mem, v reg.VecVirtual)) {
	c.VADDPD(v, sv, sv)
	c.VADDPD(w, sw, sw)
	add(c, colV, v)
	add(c, colW, w)
}

// addColumn adds v to the whole vector of float64 at col: v = v + col,
// stored back.
func addColumn(c *build.Context, col Mem, v reg.VecVirtual) {
	c.VADDPD(col, v, v) // v + col
	c.VMOVUPD(v, col)
}

// addSplitSums adds the lanes of sv to s[0] and those of sw to s[2], s
// the address of a sums.
func addSplitSums(c *build.Context, s reg.Register, sv, sw reg.VecVirtual) {
	for i, v := range []reg.VecVirtual{sv, sw} {
		m := Mem{Base: s}.Offset(16 * i) // s[0], s[2]
		t := fold(c, v)
		c.VADDSD(m, t, t)
		c.VMOVSD(t, m)
	}
}

// ptr loads the base of the slice parameter name.
func ptr(c *build.Context, name string) reg.GPVirtual {
	return c.Load(c.Param(name).Base(), c.GP64()).(reg.GPVirtual)
}

// A contractRow holds what contract, contractSplit and sweepSplit share:
// the pointers to h, g (float32) and the diagonals (float64), the length
// and the broadcast factors.
type contractRow struct {
	h, g, hd, gd, n reg.GPVirtual
	fg, fh          Op // vectors of the factors, in registers or in memory
}

// contractRow loads the shared parameters.
func (x *isa) contractRow(c *build.Context) *contractRow {
	r := &contractRow{h: ptr(c, "h"), g: ptr(c, "g"), hd: ptr(c, "hd"), gd: ptr(c, "gd")}
	r.n = c.Load(c.Param("h").Len(), c.GP64()).(reg.GPVirtual)
	r.fg, r.fh = x.factors(c)
	return r
}

// factors broadcasts the parameters fg and fh to a vector each.
func (x *isa) factors(c *build.Context) (fg, fh reg.VecVirtual) {
	fg, fh = x.vec(c), x.vec(c)
	if x.lanes == 16 {
		// From a general register: go vet's asmdecl check takes the
		// memory form's operand for the vector's size.
		for _, b := range []struct {
			name string
			v    reg.VecVirtual
		}{{"fg", fg}, {"fh", fh}} {
			t := c.GP64()
			c.MOVQ(addr(c.Param(b.name)), t)
			c.VPBROADCASTQ(t, b.v)
		}
	} else {
		c.VBROADCASTSD(addr(c.Param("fg")), fg)
		c.VBROADCASTSD(addr(c.Param("fh")), fh)
	}
	return fg, fh
}

// loop emits the iterations of contractBlock entries: step(off) for each
// vector's byte offset off in the float32 rows, then h, g, the diagonals,
// the float32 rows rows32 and the float64 rows rows64 advance.
func (r *contractRow) loop(c *build.Context, x *isa, rows32, rows64 []reg.GPVirtual, step func(off int)) {
	rows32 = append([]reg.GPVirtual{r.h, r.g}, rows32...)
	rows64 = append([]reg.GPVirtual{r.hd, r.gd}, rows64...)
	c.Commentf("Iterations of %d entries.", contractBlock)
	c.SHRQ(U8(3), r.n)
	c.JZ(LabelRef("reduce"))
	c.Label("loop")
	for off := 0; off < 4*contractBlock; off += 4 * x.f64Lanes() {
		step(off)
	}
	for _, p := range rows32 {
		c.ADDQ(U32(4*contractBlock), p)
	}
	for _, p := range rows64 {
		c.ADDQ(U32(8*contractBlock), p)
	}
	c.DECQ(r.n)
	c.JNZ(LabelRef("loop"))
	c.Label("reduce")
}

// terms widens the f64Lanes entries at byte offset off of h and g
// (VCVTPS2PD from memory), loads those of gd and hd (float64, at twice the
// offset) and returns v = h·g and w = fg·(h·h·gd) + fh·(g·g·hd), in that
// order of operations.
func (r *contractRow) terms(c *build.Context, x *isa, off int) (v, w reg.VecVirtual) {
	return r.termsBy(c, x, func(row reg.GPVirtual, dst reg.VecVirtual) {
		c.VCVTPS2PD(Mem{Base: row}.Offset(off), dst)
	}, func(row reg.GPVirtual, dst reg.VecVirtual) {
		c.VMOVUPD(Mem{Base: row}.Offset(2*off), dst)
	})
}

// maskedSteps emits the steps of the last n < contractBlock entries of a
// contraction: step gets the widening of a float32 row's entries and the
// load of a float64 row's (by its base register) under the mask of the
// ones that exist, zero elsewhere. AVX-512 takes them in one step (a K
// mask of n bits); AVX2 in two of 4, each with its half of an 8-lane mask
// (VMASKMOVPS, then VCVTPS2PD; VMASKMOVPD under the half widened to 64-bit
// lanes).
func (x *isa) maskedSteps(c *build.Context, n reg.GPVirtual, step func(widen, load64 func(row reg.GPVirtual, dst reg.VecVirtual))) {
	if x.lanes == 16 {
		in := tailMask512(c, n)[0]
		step(func(row reg.GPVirtual, dst reg.VecVirtual) { c.VCVTPS2PD_Z(Mem{Base: row}, in, dst) },
			func(row reg.GPVirtual, dst reg.VecVirtual) { c.VMOVUPD_Z(Mem{Base: row}, in, dst) })
		return
	}
	in := countMask256(c, n)
	half := halves256(c, in)
	for i := range half {
		step(func(row reg.GPVirtual, dst reg.VecVirtual) {
			widenMasked256(c, Mem{Base: row}.Offset(16*i), half[i], dst)
		}, func(row reg.GPVirtual, dst reg.VecVirtual) {
			c.VMASKMOVPD(Mem{Base: row}.Offset(32*i), widenHalf(c, in, i), dst)
		})
	}
}

// countMask256 returns the 8-lane mask of the lanes l < n (n < 8, which
// it negates), loaded from colMaskTable.
func countMask256(c *build.Context, n reg.GPVirtual) reg.VecVirtual {
	p, in := c.GP64(), c.YMM()
	c.LEAQ(colMaskTable(c, 16), p)
	c.NEGQ(n)
	c.VMOVUPS(Mem{Base: p, Index: n, Scale: 4, Disp: 4 * 16}, in) // lane l: −1 iff l < n
	return in
}

// halves256 returns the two 4-lane halves of the 8-lane mask in.
func halves256(c *build.Context, in reg.VecVirtual) [2]reg.Register {
	hi := c.XMM()
	c.VEXTRACTF128(U8(1), in, hi)
	return [2]reg.Register{in.AsX(), hi}
}

// widenMasked256 widens the 4 float32 at m under the 4-lane mask half
// (VMASKMOVPS, zero elsewhere) to float64 in dst.
func widenMasked256(c *build.Context, m Mem, half reg.Register, dst reg.VecVirtual) {
	t := c.XMM()
	c.VMASKMOVPS(m, half, t)
	c.VCVTPS2PD(t, dst)
}

// termsBy is terms with the widening of h's and g's entries left to widen
// and the load of gd's and hd's to load64 (by their base register), either
// of which may mask the loads.
func (r *contractRow) termsBy(c *build.Context, x *isa, widen, load64 func(row reg.GPVirtual, dst reg.VecVirtual)) (v, w reg.VecVirtual) {
	hv, gv, t := x.vec(c), x.vec(c), x.vec(c)
	v, w = x.vec(c), x.vec(c)
	widen(r.h, hv)
	widen(r.g, gv)
	c.VMULPD(gv, hv, v) // v = h·g
	c.VMULPD(hv, hv, hv)
	load64(r.gd, t)
	c.VMULPD(t, hv, hv) // h²·gd
	c.VMULPD(gv, gv, gv)
	load64(r.hd, t)
	c.VMULPD(t, gv, gv) // g²·hd
	c.VMULPD(r.fg, hv, w)
	c.VFMADD231PD(r.fh, gv, w) // w = fg·h²·gd + fh·g²·hd
	return v, w
}
