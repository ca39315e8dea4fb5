package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// sweepSplit emits sweepSplit<ISA>, the sweepSplitFunc of the instruction
// set (kernel.go): contractSplit and lowerSplitSets of a row segment in one
// pass, so that the sweep pays one call and one loop for both, for each of
// len(s) rows in one call. The first pass over a row carries the contract
// part (contractSplit's v and w in the same order, contractRow.termsBy, so
// the columns get the same bits) and up to conSets score sets; the sets
// past those go in lowerSplitSets' passes of maxSets. A step is
// lowerSplitSets' (one vector of int32); the last len mod step entries are
// one step under a mask of their count, the contract part's loads and
// column stores masked too, so any length is done in the kernel and
// nothing at or past a row's len(h) entries is read or written. A row
// leaves out its first lead entries (the rows a strip's diagonal cuts,
// each up to its diagonal, over columns that start on a cache line):
// every pass skips the whole steps among them and does the step the lead
// ends in without them (leaveOut), so the rows of a strip that share its
// columns, cut or not, go in two calls of whole steps. Each
// step of the first pass prefetches (PREFETCHT0, which reads nothing the
// program sees and cannot fault) the next row's h, ldh entries on, so a
// row's H, which a sweep reads from L3 (2 MiB of triangle a batch at
// in = 1024), is in L1 when its turn comes: the hardware prefetchers,
// among a step's dozen other streams, left those loads waiting (the
// seed sweep took 0.92 of its time with every row's H in L1, and as
// long with the prefetch). After a row the kernel moves the row's
// parameters in its own argument frame on to the next row's (nextRow) and
// goes round again: the per-row work of a call (the Go call, the factors,
// the sums) is what the rows share.
func (x *isa) sweepSplit(c *build.Context, maxSets, conSets int) {
	name := "sweepSplit" + x.name
	if conSets > maxSets {
		panic(fmt.Sprintf("%s: %d sets with the contract, more than the %d of a pass", name, conSets, maxSets))
	}
	leafFunction(c, name, sweepSplitSig,
		fmt.Sprintf("%s does, for each row r < len(s), contractSplit on h, g, hd, gd,", name),
		"f[2r], f[2r+1], colV, colW, s[r] and then lowerSplitSets on h, g, ranks, below,",
		"cols, stride, sums in one pass over the row, any len(h); row r's h, g, below",
		"and sums lie r·ldh, r·ldg, r·len(below) and r·len(sums) entries on, and it",
		"leaves out its first lead + r·shift entries.",
		fmt.Sprintf("With %s, the contract and %d sets in the first pass, %d sets a", x.title, conSets, maxSets),
		"pass after it. It implements sweepSplitFunc (kernel.go); refer to",
		"sweepSplitEach there.",
	)
	ls := x.newSetsSplit(c, maxSets)
	ls.lead = true
	rows := c.AllocLocal(8)
	n := c.GP64()
	c.Load(c.Param("s").Len(), n)
	c.MOVQ(n, rows)
	c.TESTQ(n, n)
	c.JZ(LabelRef("ret")) // no row
	c.Label("row")
	// Like the sets' registers, the sums are the same virtual registers
	// in every body that carries the contract.
	ls.con = &setsContract{sv: x.vec(c), sw: x.vec(c)}
	left := c.GP64()
	c.Load(c.Param("below").Len(), left)
	ls.dispatch(left, conSets, "csets") // no set: falls through to csets0
	for k := range conSets + 1 {
		ls.chunk(k)
	}
	ls.con = nil
	ls.next = func() { ls.nextRow(rows) }
	ls.chunks(maxSets)
}

// nextRow emits the end of a row of sweepSplit: while rows (in the frame)
// counts down to more rows, the row's parameters in the argument frame
// move on to the next row's (the rows' own, and lead by shift), and the
// kernel goes round again from its first chunk. The last row's are left
// as they are, so no pointer in the frame runs past its slice's memory.
func (ls *setsSplit) nextRow(rows Mem) {
	c := ls.c
	c.DECQ(rows)
	c.JZ(LabelRef("ret"))
	t, by := c.GP64(), c.GP64()
	for _, p := range []struct {
		slice, by string // by: the parameter whose value is the step, or ""
		size      int    // bytes an entry
	}{{"h", "ldh", 4}, {"g", "ldg", 4}, {"below", "below", 4}, {"sums", "sums", 8}, {"f", "", 16}, {"s", "", 32}} {
		c.Load(c.Param(p.slice).Base(), t)
		switch p.by {
		case "":
			c.ADDQ(U32(p.size), t)
		case p.slice: // a row's own length
			c.Load(c.Param(p.by).Len(), by)
			c.LEAQ(Mem{Base: t, Index: by, Scale: uint8(p.size)}, t)
		default:
			c.Load(c.Param(p.by), by)
			c.LEAQ(Mem{Base: t, Index: by, Scale: uint8(p.size)}, t)
		}
		c.Store(t, c.Param(p.slice).Base())
	}
	// The next row leaves out shift entries more.
	c.Load(c.Param("shift"), by)
	c.Load(c.Param("lead"), t)
	c.ADDQ(by, t)
	c.Store(t, c.Param("lead"))
	c.MOVQ(U32(0), ls.first)
	c.JMP(LabelRef("row"))
	c.Label("ret")
}

// setsContract is the contract part of a sweepSplit pass.
type setsContract struct {
	row        *contractRow // h, g (the pass's), the diagonals, fg and fh
	colV, colW reg.GPVirtual
	sv, sw     reg.VecVirtual // Σv, Σw
}

// start loads the contract part's pointers and factors and zeroes its sums.
func (sc *setsContract) start(ls *setsSplit) {
	c := ls.c
	c.Comment("The contract part: Σv, Σw, fg, fh + 5 temporaries and the masks in the last step.")
	sc.row = &contractRow{h: ls.h, g: ls.g, hd: ptr(c, "hd"), gd: ptr(c, "gd")}
	f := ptr(c, "f") // the row's fg and fh
	if ls.inFrame {
		// In the frame: AVX2's 16 YMM hold the sets in the last
		// step; the steps take them into registers (setsSplit.hold).
		if ls.factors == (Mem{}) { // one slot for every chunk body
			ls.factors = c.AllocLocal(64)
		}
		for i, at := range []Mem{ls.factors, ls.factors.Offset(32)} {
			t := c.YMM()
			c.VBROADCASTSD(Mem{Base: f, Disp: 8 * i}, t)
			c.VMOVUPD(t, at)
		}
		sc.row.fg, sc.row.fh = ls.factors, ls.factors.Offset(32)
	} else {
		fg, fh := ls.vec(c), ls.vec(c)
		c.VBROADCASTSD(Mem{Base: f}, fg)
		c.VBROADCASTSD(Mem{Base: f, Disp: 8}, fh)
		sc.row.fg, sc.row.fh = fg, fh
	}
	sc.colV, sc.colW = ptr(c, "colV"), ptr(c, "colW")
	ls.zero(c, sc.sv)
	ls.zero(c, sc.sw)
}

// advance moves the diagonals' and columns' pointers on by n entries (h
// and g are the pass's).
func (sc *setsContract) advance(c *build.Context, n int) {
	c.ADDQ(U32(8*n), sc.row.hd)
	c.ADDQ(U32(8*n), sc.row.gd)
	c.ADDQ(U32(8*n), sc.colV)
	c.ADDQ(U32(8*n), sc.colW)
}

// finish adds the sums to the row's s[0] and s[2].
func (sc *setsContract) finish(c *build.Context) { addSplitSums(c, ptr(c, "s"), sc.sv, sc.sw) }

// halves emits the contract part of one step, a vector of float64 at a
// time: widen converts the entries of h or g in a half of the step, load64
// loads those of a (float64) diagonal, add adds a vector to a column; out,
// when not nil (AVX2), is the int32 mask of the lanes left out, whose v
// and w become −0.
func (sc *setsContract) halves(c *build.Context, x *isa, widen, load64 func(half int, row reg.GPVirtual, dst reg.VecVirtual), add func(half int) func(c *build.Context, col Mem, v reg.VecVirtual), out reg.VecVirtual) {
	for i := range 2 {
		v, w := sc.row.termsBy(c, x, func(row reg.GPVirtual, dst reg.VecVirtual) { widen(i, row, dst) },
			func(row reg.GPVirtual, dst reg.VecVirtual) { load64(i, row, dst) })
		if out != nil { // −0 in the lanes left out
			m := widenHalf(c, out, i)
			c.VBLENDVPD(m, negZeroTable(c), v, v)
			c.VBLENDVPD(m, negZeroTable(c), w, w)
		}
		off := 8 * x.f64Lanes() * i
		addSplit(c, v, w, sc.sv, sc.sw, Mem{Base: sc.colV}.Offset(off), Mem{Base: sc.colW}.Offset(off), add(i))
	}
}

// step512 is the contract part of an AVX-512 step: 16 entries, two halves
// of 8; in, when not nil, holds the K masks of the last step's entries
// (tailMask512): h and g are widened from memory under them and the
// diagonals loaded under them (zero elsewhere), and the columns loaded and
// stored under them.
func (sc *setsContract) step512(c *build.Context, in []reg.Register) {
	sc.halves(c, avx512, func(i int, row reg.GPVirtual, dst reg.VecVirtual) {
		m := Mem{Base: row}.Offset(32 * i)
		if in == nil {
			c.VCVTPS2PD(m, dst)
			return
		}
		c.VCVTPS2PD_Z(m, in[i], dst)
	}, func(i int, row reg.GPVirtual, dst reg.VecVirtual) {
		m := Mem{Base: row}.Offset(64 * i)
		if in == nil {
			c.VMOVUPD(m, dst)
			return
		}
		c.VMOVUPD_Z(m, in[i], dst)
	}, func(i int) func(c *build.Context, col Mem, v reg.VecVirtual) {
		if in == nil {
			return addColumn
		}
		return func(c *build.Context, col Mem, v reg.VecVirtual) {
			t := c.ZMM()
			c.VMOVUPD_Z(col, in[i], t)
			c.VADDPD(t, v, v) // v + col
			c.VMOVUPD(v, in[i], col)
		}
	}, nil)
}

// step256 is the contract part of an AVX2 step: 8 entries, two halves of
// 4; in, when not nil, is the last step's mask of its entries (int32
// lanes): h and g are loaded under its halves (VMASKMOVPS, zero
// elsewhere), the diagonals and the columns under its halves widened
// (VMASKMOVPD); out, when not nil, the mask of the lanes left out of a
// whole step (halves).
func (sc *setsContract) step256(c *build.Context, in, out reg.VecVirtual) {
	var half [2]reg.Register
	if in != nil {
		half = halves256(c, in)
	}
	sc.halves(c, avx2, func(i int, row reg.GPVirtual, dst reg.VecVirtual) {
		m := Mem{Base: row}.Offset(16 * i)
		if in == nil {
			c.VCVTPS2PD(m, dst)
			return
		}
		widenMasked256(c, m, half[i], dst)
	}, func(i int, row reg.GPVirtual, dst reg.VecVirtual) {
		m := Mem{Base: row}.Offset(32 * i)
		if in == nil {
			c.VMOVUPD(m, dst)
			return
		}
		c.VMASKMOVPD(m, widenHalf(c, in, i), dst)
	}, func(i int) func(c *build.Context, col Mem, v reg.VecVirtual) {
		if in == nil {
			return addColumn
		}
		return func(c *build.Context, col Mem, v reg.VecVirtual) {
			m, t := widenHalf(c, in, i), c.YMM()
			c.VMASKMOVPD(col, m, t)
			c.VADDPD(t, v, v) // v + col
			c.VMASKMOVPD(v, m, col)
		}
	}, out)
}
