package main

import (
	"fmt"
	"math/bits"

	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// lowerSplitSets emits lowerSplitSets<ISA>, the lowerSplitSetsFunc of the
// instruction set (kernel.go; each set's reference is lowerSplitGeneric in
// kernel_generic.go): lowerSplit for up to maxSets score sets in one pass
// over the row, so that m = h·g is loaded, multiplied and widened once per
// step for all of them. The row's side of a set is not summed itself: the
// pass sums m over the whole row once (total) and each set the entries it
// adds to its columns, and a set's row sum is total less its column side's
// (a NaN or infinity on the column side then reaches the sum as a NaN,
// which lowerSplitSetsFunc allows). So each set keeps its below and one
// accumulator in registers and costs per step only the rank compare, the
// masked add and the column's load, add and store, with no mask of the
// row's side to form. More sets are done in chunks of
// maxSets, one pass each; a chunk of fewer sets (the last) has code of its
// own, one body per chunk size, chosen by a compare chain at the chunk's
// start. The last len mod step entries are one step under a mask of
// their count, so no entry at or past len(h) is read or written.
//
// AVX-512 addresses a set's ranks and column from a base pointer (set 0,
// or set 4 of the chunk) and an index register of 1, 2 or 3 strides,
// scaled by the entry size: 10 general registers in the steps (one
// pointer pair fewer for 4 sets or fewer), 13 in the last, and keeps each
// set's below in a ZMM. AVX2 keeps the belows in the frame instead, a
// broadcast vector a set that each compare loads (a load, where the
// registers are what 5 sets with the contract lack), and reaches sets 0
// to 4 from one base through two index registers: R, a set's ranks in
// bytes, and 3R, at scales 1, 2 and 4 for the int32 ranks and twice those
// for the float64 columns (at). The chunk's first set waits in the frame.
func (x *isa) lowerSplitSets(c *build.Context, maxSets int) {
	name := "lowerSplitSets" + x.name
	if maxSets < 1 || maxSets > 8 {
		panic(fmt.Sprintf("%s: chunks of %d sets, want 1 to 8 (two base pointers of 4)", name, maxSets))
	}
	leafFunction(c, name, lowerSplitSetsSig,
		fmt.Sprintf("%s does lowerSplit for each set t < len(below): it adds to sums[t]", name),
		"Σ h[j]·g[j] (a float32 product) over the j < len(h) with ranks[t·stride+j] <",
		"below[t] (signed), summed in float64 as the row's sum less the others', and",
		"the product to cols[t·stride+j] for every other j < len(h), with",
		fmt.Sprintf("%s, %d sets a pass. It implements", x.title, maxSets),
		"lowerSplitSetsFunc (kernel.go); refer to lowerSplitGeneric in kernel_generic.go",
		"for each set.",
	)
	ls := x.newSetsSplit(c, maxSets)
	ls.chunks(maxSets)
}

// newSetsSplit allocates the sets' registers for chunks of up to maxSets
// sets and loads the strides; the first chunk starts at set 0.
func (x *isa) newSetsSplit(c *build.Context, maxSets int) *setsSplit {
	ls := &setsSplit{isa: x, c: c, first: c.AllocLocal(8), inFrame: x.lanes == 8}
	// The sets' registers are the same virtual registers in every chunk
	// body: zeroing reads a register, so each body's own would be live
	// around the chunk loop and clash with all the others'.
	for range maxSets {
		if !ls.inFrame {
			ls.below = append(ls.below, x.vec(c))
		}
		ls.acc = append(ls.acc, x.vec(c))
	}
	ls.total = x.vec(c)
	if ls.inFrame {
		if maxSets > 5 {
			panic(fmt.Sprintf("%s: %d sets a pass, more than the 5 that two index registers reach", x.name, maxSets))
		}
		ls.belows = c.AllocLocal(32 * maxSets)
		r := c.GP64()
		c.Load(c.Param("stride"), r)
		c.SHLQ(U8(2), r) // a set's ranks, in bytes
		r3 := c.GP64()
		c.LEAQ(Mem{Base: r, Index: r, Scale: 2}, r3)
		ls.stride = [4]reg.Register{nil, r, nil, r3}
	} else {
		s := [4]reg.Register{nil, c.GP64(), c.GP64(), c.GP64()}
		c.Load(c.Param("stride"), s[1])
		c.LEAQ(Mem{Base: s[1], Index: s[1], Scale: 1}, s[2])
		c.LEAQ(Mem{Base: s[1], Index: s[1], Scale: 2}, s[3])
		ls.stride = s
	}
	c.MOVQ(U32(0), ls.first)
	return ls
}

// chunks emits the passes over the sets from ls.first on, maxSets a pass,
// and the return.
func (ls *setsSplit) chunks(maxSets int) {
	c := ls.c
	c.Label("chunk")
	left := c.GP64()
	c.Load(c.Param("below").Len(), left)
	c.SUBQ(ls.first, left)
	c.JLE(LabelRef("done")) // if no set is left: return
	ls.dispatch(left, maxSets, "sets")
	for k := maxSets; k >= 1; k-- {
		ls.chunk(k)
	}
	c.Label("done")
	if ls.next != nil {
		ls.next()
	}
	c.VZEROUPPER()
	c.RET()
}

// dispatch jumps to the body label+k of the chunk of k = min(left, most)
// sets for 0 < left; left ≤ 0 falls through.
func (ls *setsSplit) dispatch(left reg.GPVirtual, most int, label string) {
	c := ls.c
	c.CMPQ(left, U8(most))
	c.JAE(LabelRef(fmt.Sprintf("%s%d", label, most)))
	for k := 1; k < most; k++ {
		c.CMPQ(left, U8(k))
		c.JEQ(LabelRef(fmt.Sprintf("%s%d", label, k)))
	}
}

// setsSplit is the state of lowerSplitSets' generation.
type setsSplit struct {
	*isa
	c *build.Context
	// stride: 0, 1, 2, 3 strides (entries); with inFrame, [1] is one
	// stride of ranks in bytes (R) and [3] three (3R)
	stride [4]reg.Register
	first  Mem // the chunk's first set, in the frame
	// inFrame (AVX2): the chunk's belows wait in the frame (belows, a
	// vector a set), loaded for each compare, and the sets are
	// addressed by R and 3R from one base (at).
	inFrame bool
	belows  Mem
	factors Mem // sweepSplit's fg and fh in the frame, a vector each (setsContract.start)
	// per chunk: the pointers to h, g and to the ranks and columns of the
	// chunk's sets 0 and 4
	h, g       reg.GPVirtual
	rank, col  [2]reg.GPVirtual
	below, acc []reg.VecVirtual // per set of a chunk
	// total is Σm over the row; each set's sum is what its column side
	// (acc) leaves of it
	total reg.VecVirtual
	// negZero (AVX2), when not nil, holds four float64 −0 through the
	// steps (hold)
	negZero reg.VecVirtual
	// hiIndex (AVX2), when not nil, holds hiIndexTable's VPERMD indices
	// through the steps (hold)
	hiIndex reg.VecVirtual
	// con, when not nil, is the contract part that the chunks being
	// emitted carry (sweepSplit).
	con *setsContract
	// lead (sweepSplit): each pass leaves out the row's first lead
	// entries (leaveOut)
	lead bool
	// next, when not nil, emits what follows the last chunk, before the
	// return (sweepSplit's next row).
	next func()
}

// label names the chunk of k sets' label stem: a chunk that carries the
// contract part has labels of its own.
func (ls *setsSplit) label(stem string, k int) string {
	if ls.con != nil {
		stem = "c" + stem
	}
	return fmt.Sprintf("%s%d", stem, k)
}

// at returns the address of set t's entry at byte offset off in the
// set-major array at base, whose entries are size bytes.
func (ls *setsSplit) at(base [2]reg.GPVirtual, t, size, off int) Mem {
	if ls.inFrame {
		// Set t lies t·R bytes on for int32, 2t·R for float64: R·1, 2, 4
		// or 3R·1 times size/4.
		m, k := Mem{Base: base[0], Disp: off}, size/4
		switch t {
		case 1, 2, 4:
			m.Index, m.Scale = ls.stride[1], uint8(t*k)
		case 3:
			m.Index, m.Scale = ls.stride[3], uint8(k)
		}
		return m
	}
	m := Mem{Base: base[t/4], Disp: off}
	if t%4 > 0 {
		m.Index, m.Scale = ls.stride[t%4], uint8(size)
	}
	return m
}

// chunk emits the body for a chunk of k sets: the chunk's pointers and
// registers, the steps, the masked last step, the sums, then the next chunk.
func (ls *setsSplit) chunk(k int) {
	c := ls.c
	c.Label(ls.label("sets", k))
	if ls.lanes == 16 {
		c.Commentf("%d sets: %d below + %d accumulators + the total + 5 temporaries = %d of 32 ZMM; 2 K, 4 in the last step.", k, k, k, 2*k+6)
	} else {
		c.Commentf("%d sets: %d accumulators + the total + m's 2 halves + 4 temporaries = %d of 16 YMM, 3 more in the last step.", k, k, k+7)
	}
	first, off := c.GP64(), c.GP64()
	c.MOVQ(ls.first, first)
	c.MOVQ(first, off)
	c.IMULQ(ls.stride[1], off) // the chunk's offset in ranks and cols: first·stride entries (bytes of ranks if inFrame)
	ls.h, ls.g = ptr(c, "h"), ptr(c, "g")
	if ls.con != nil {
		ls.con.start(ls)
	}
	ls.rank[0], ls.col[0] = ptr(c, "ranks"), ptr(c, "cols")
	if ls.inFrame {
		c.ADDQ(off, ls.rank[0])
		c.LEAQ(Mem{Base: ls.col[0], Index: off, Scale: 2}, ls.col[0])
	} else {
		c.LEAQ(Mem{Base: ls.rank[0], Index: off, Scale: 4}, ls.rank[0])
		c.LEAQ(Mem{Base: ls.col[0], Index: off, Scale: 8}, ls.col[0])
	}
	if k > 4 && !ls.inFrame {
		ls.rank[1], ls.col[1] = c.GP64(), c.GP64()
		c.LEAQ(Mem{Base: ls.rank[0], Index: ls.stride[2], Scale: 8}, ls.rank[1]) // + 4 strides of int32
		c.LEAQ(Mem{Base: ls.stride[2], Index: ls.stride[2], Scale: 1}, off)
		c.LEAQ(Mem{Base: ls.col[0], Index: off, Scale: 8}, ls.col[1]) // + 4 strides of float64
	}
	bp := ptr(c, "below")
	for t := range k {
		at := Mem{Base: bp, Index: first, Scale: 4, Disp: 4 * t}
		if !ls.inFrame {
			c.VPBROADCASTD(at, ls.below[t])
			continue
		}
		b := c.YMM()
		c.VPBROADCASTD(at, b)
		c.VMOVDQU(b, ls.belows.Offset(32*t))
	}
	for _, a := range ls.acc[:k] {
		ls.zero(c, a)
	}
	if k > 0 { // sweepSplit's chunk of no sets (the contract alone) has no total
		ls.zero(c, ls.total)
	}
	step := ls.lanes // entries a step: one vector of int32
	cnt := c.GP64()
	c.Load(c.Param("h").Len(), cnt)
	if ls.lead {
		ls.leaveOut(k, cnt)
	}
	c.SHRQ(U8(bits.TrailingZeros(uint(step))), cnt)
	c.JZ(LabelRef(ls.label("last", k)))
	var ahead reg.GPVirtual // sweepSplit's first pass: ldh·4, the bytes to the next row's h, which it prefetches
	if ls.con != nil {
		ahead = c.GP64()
		c.Load(c.Param("ldh"), ahead)
		c.SHLQ(U8(2), ahead)
	}
	ls.hold(k)
	c.Label(ls.label("steps", k))
	if ahead != nil {
		c.PREFETCHT0(Mem{Base: ls.h, Index: ahead, Scale: 1})
	}
	ls.step(k, stepLanes{})
	ls.advanceStep()
	c.DECQ(cnt)
	c.JNZ(LabelRef(ls.label("steps", k)))

	c.Label(ls.label("last", k))
	ls.release()
	c.Commentf("The last len mod %d entries: one step under a mask of their count.", step)
	n := c.GP64()
	c.Load(c.Param("h").Len(), n)
	c.ANDQ(U32(step-1), n)
	c.JZ(LabelRef(ls.label("sums", k)))
	ls.step(k, ls.firstLanes(n))

	c.Label(ls.label("sums", k))
	if ls.con != nil {
		ls.con.finish(c)
	}
	sp := ptr(c, "sums")
	c.MOVQ(ls.first, first)
	c.LEAQ(Mem{Base: sp, Index: first, Scale: 8}, sp)
	var total reg.Register
	if k > 0 {
		total = fold(c, ls.total)
	}
	for t := range k {
		s := fold(c, ls.acc[t])
		c.VSUBSD(s, total, s) // the row's side: Σm less the column's
		at := Mem{Base: sp, Disp: 8 * t}
		c.VADDSD(at, s, s)
		c.VMOVSD(s, at)
	}
	c.ADDQ(U32(k), ls.first)
	c.JMP(LabelRef("chunk"))
	ls.rank[1], ls.col[1] = nil, nil
}

// hold loads into registers for the steps what AVX2 otherwise reads from
// memory in each: the blend's −0 and the contract part's fg and fh, ten
// and four loads a step of 5 sets, which share the load ports with the
// columns', and the VPERMD indices that widen a mask's high half in one
// instruction instead of two. The last step's masks leave no room for
// them (release).
func (ls *setsSplit) hold(k int) {
	if !ls.inFrame {
		return
	}
	c := ls.c
	if k > 0 {
		ls.negZero, ls.hiIndex = c.YMM(), c.YMM()
		c.VMOVUPD(negZeroTable(c), ls.negZero)
		c.VMOVDQU(hiIndexTable(c), ls.hiIndex)
	}
	if ls.con != nil {
		fg, fh := c.YMM(), c.YMM()
		c.VMOVUPD(ls.factors, fg)
		c.VMOVUPD(ls.factors.Offset(32), fh)
		ls.con.row.fg, ls.con.row.fh = fg, fh
	}
}

// release returns the last step to the memory operands of hold's values.
func (ls *setsSplit) release() {
	if !ls.inFrame {
		return
	}
	ls.negZero, ls.hiIndex = nil, nil
	if ls.con != nil {
		ls.con.row.fg, ls.con.row.fh = ls.factors, ls.factors.Offset(32)
	}
}

// step emits one step for the chunk's k sets: the entries at the pointers,
// all of them or those sl says.
func (ls *setsSplit) step(k int, sl stepLanes) {
	if ls.lanes == 16 {
		ls.step512(k, sl.ks)
	} else {
		ls.step256(k, sl.in, sl.out)
	}
}

// stepLanes says which entries of a step count: all of them (the zero
// value), those of a mask (AVX2: in, the lanes loaded and stored, with
// VMASKMOV; AVX-512: the K masks ks), or, AVX2 only, all but those of
// out, which are loaded and stored but add −0 to every sum and column.
type stepLanes struct {
	in, out reg.VecVirtual
	ks      []reg.Register
}

// firstLanes returns the lanes l < n of a step (0 < n < a step; it
// destroys n).
func (ls *setsSplit) firstLanes(n reg.GPVirtual) stepLanes {
	if ls.lanes == 16 {
		return stepLanes{ks: tailMask512(ls.c, n)}
	}
	return stepLanes{in: countMask256(ls.c, n)}
}

// lanesBetween returns the lanes lo ≤ l < hi of a step (lo < hi ≤ a
// step; it destroys both).
func (ls *setsSplit) lanesBetween(lo, hi reg.GPVirtual) stepLanes {
	c := ls.c
	if ls.lanes == 16 {
		return stepLanes{ks: laneMask512(c, lo, hi)}
	}
	below := countMask256(c, hi)
	in := countMask256(c, lo)
	c.VPANDN(below, in, in) // l < hi and not l < lo
	return stepLanes{in: in}
}

// lanesFrom returns the lanes l ≥ lo of a whole step (0 < lo < a step;
// AVX2 destroys lo): AVX2 loads and stores the whole step and adds −0 for
// the lanes below lo, where VMASKMOV's stores cost several steps.
func (ls *setsSplit) lanesFrom(lo reg.GPVirtual) stepLanes {
	c := ls.c
	if ls.lanes == 16 {
		return stepLanes{ks: laneMask512(c, lo, nil)}
	}
	return stepLanes{out: countMask256(c, lo)}
}

// leaveOut emits, for sweepSplit's passes, the row's lead (the parameter,
// which nextRow grows by shift row by row): the whole steps within it are
// skipped, and the step it ends in is done without its first lead mod a
// step entries, under the mask of those it keeps, and also without those
// past the row's end if the row ends in it (then the pass is done). n
// holds len(h) and is left holding the entries from the pointers on; a
// row whose lead is len(h) or more is left out whole.
func (ls *setsSplit) leaveOut(k int, n reg.GPVirtual) {
	c := ls.c
	step := ls.lanes
	c.Commentf("The row's lead: whole steps skipped, then a step without the first lead mod %d entries.", step)
	lead := c.GP64() // as few general registers as can be: AVX-512's pass holds 13 pointers and strides
	c.Load(c.Param("lead"), lead)
	c.CMPQ(lead, n)
	c.JAE(LabelRef(ls.label("sums", k))) // nothing of the row is left
	c.ANDQ(I32(-step), lead)             // the whole steps' entries
	ls.advanceBy(lead)
	c.SUBQ(lead, n)
	c.Load(c.Param("lead"), lead)
	c.ANDQ(U32(step-1), lead)
	c.JZ(LabelRef(ls.label("kept", k)))
	c.CMPQ(n, U8(step))
	c.JB(LabelRef(ls.label("part", k)))
	ls.step(k, ls.lanesFrom(lead))
	ls.advanceStep()
	c.SUBQ(U8(step), n)
	c.JMP(LabelRef(ls.label("kept", k)))
	c.Label(ls.label("part", k))
	c.Commentf("The row ends in the same step: its entries between lead mod %d and the end.", step)
	ls.step(k, ls.lanesBetween(lead, n))
	c.JMP(LabelRef(ls.label("sums", k)))
	c.Label(ls.label("kept", k))
}

// advanceStep moves the pass's pointers on by one step.
func (ls *setsSplit) advanceStep() {
	c, step := ls.c, ls.lanes
	for _, p := range []reg.GPVirtual{ls.h, ls.g, ls.rank[0], ls.rank[1]} {
		if p != nil {
			c.ADDQ(U32(4*step), p)
		}
	}
	for _, p := range ls.col {
		if p != nil {
			c.ADDQ(U32(8*step), p)
		}
	}
	if ls.con != nil {
		ls.con.advance(c, step)
	}
}

// advanceBy moves the pass's pointers on by n entries.
func (ls *setsSplit) advanceBy(n reg.GPVirtual) {
	c := ls.c
	for _, p := range []reg.GPVirtual{ls.h, ls.g, ls.rank[0], ls.rank[1]} {
		if p != nil {
			c.LEAQ(Mem{Base: p, Index: n, Scale: 4}, p)
		}
	}
	ps := ls.col[:]
	if ls.con != nil {
		ps = append(ps, ls.con.row.hd, ls.con.row.gd, ls.con.colV, ls.con.colW)
	}
	for _, p := range ps {
		if p != nil {
			c.LEAQ(Mem{Base: p, Index: n, Scale: 8}, p)
		}
	}
}

// step512 is step for AVX-512: 16 entries, m widened once and added to the
// total; for each set VPCMPD compares the 16 ranks with below into the K
// mask of the column side (compareColumn512), under which m is added to
// the set's accumulator and its columns (addColumns512).
func (ls *setsSplit) step512(k int, in []reg.Register) {
	c := ls.c
	var inAll reg.Register
	if in != nil {
		inAll = in[0]
	}
	if ls.con != nil {
		ls.con.step512(c, in)
	}
	if k == 0 {
		return
	}
	wl, wh := widen512(c, loadProduct512(c, Mem{Base: ls.h}, Mem{Base: ls.g}, inAll))
	c.VADDPD(wl, ls.total, ls.total)
	c.VADDPD(wh, ls.total, ls.total)
	for t := range k {
		kc, kch := compareColumn512(c, ls.at(ls.rank, t, 4, 0), ls.below[t], in)
		c.VADDPD(wl, ls.acc[t], kc, ls.acc[t])
		c.VADDPD(wh, ls.acc[t], kch, ls.acc[t])
		addColumns512(c, wl, wh, kc, kch, ls.at(ls.col, t, 8, 0), in)
	}
}

// step256 is step for AVX2: 8 entries. m is widened to two YMM of float64
// once; for each set VPCMPGTD compares the 8 ranks with below (int32
// lanes, loaded from the frame into the compare's register) and
// VPMOVSXDQ widens the mask to the low half's float64 lanes, VPERMD (in
// the steps) or VEXTRACTI128 and VPMOVSXDQ to the high half's. m
// blended with −0 where the row takes it (VBLENDVPD) is added to the
// set's accumulator and to the columns, which leaves every column entry,
// −0 and NaN included, as it was where the row takes m; m itself goes to
// the total. A step under the mask in (the last, or the lead's where the
// row ends in it) loads h, g and the ranks under it (VMASKMOVPS,
// VPMASKMOVD: +0 and rank 0 elsewhere) and loads and stores the columns
// under its widened halves (VMASKMOVPD), formed per half as needed to
// stay within 16 YMM. A step with the mask out (the lead's) loads and
// stores everything and makes m, v and w −0 in the lanes out marks, so
// that they add nothing anywhere.
func (ls *setsSplit) step256(k int, in, out reg.VecVirtual) {
	c := ls.c
	v := c.YMM() // m
	if ls.con != nil {
		ls.con.step256(c, in, out)
	}
	if k == 0 {
		return
	}
	if in == nil {
		c.VMOVUPS(Mem{Base: ls.h}, v)
		c.VMULPS(Mem{Base: ls.g}, v, v) // m = h·g
		if out != nil {
			c.VBLENDVPS(out, negZero32Table(c), v, v) // −0 in the lanes left out
		}
	} else {
		gv := c.YMM()
		c.VMASKMOVPS(Mem{Base: ls.h}, in, v)
		c.VMASKMOVPS(Mem{Base: ls.g}, in, gv)
		c.VMULPS(gv, v, v) // m = h·g in range, else +0
	}
	m := [2]reg.VecVirtual{c.YMM(), c.YMM()}
	hi := c.XMM()
	c.VCVTPS2PD(v.AsX(), m[0])
	c.VEXTRACTF128(U8(1), v, hi)
	c.VCVTPS2PD(hi, m[1])
	c.VADDPD(m[0], ls.total, ls.total)
	c.VADDPD(m[1], ls.total, ls.total)
	var negZero Op = negZeroTable(c)
	if ls.negZero != nil {
		negZero = ls.negZero
	}
	for t := range k {
		rank, kv := ls.at(ls.rank, t, 4, 0), c.YMM()
		c.VMOVDQU(ls.belows.Offset(32*t), kv)
		if in == nil {
			c.VPCMPGTD(rank, kv, kv) // kv = below > rank
		} else {
			r := c.YMM()
			c.VPMASKMOVD(rank, in, r)
			c.VPCMPGTD(r, kv, kv)
		}
		for i := range 2 {
			var mask reg.VecVirtual
			if i == 1 && ls.hiIndex != nil { // one VPERMD for VEXTRACTI128 and VPMOVSXDQ
				mask = c.YMM()
				c.VPERMD(kv, ls.hiIndex, mask)
			} else {
				mask = widenHalf(c, kv, i)
			}
			col, u := ls.at(ls.col, t, 8, 32*i), c.YMM()
			c.VBLENDVPD(mask, negZero, m[i], u) // −0 where rank < below, else m
			c.VADDPD(u, ls.acc[t], ls.acc[t])   // the column side's sum
			if in == nil {
				c.VADDPD(col, u, u)
				c.VMOVUPD(u, col)
				continue
			}
			inHalf, old := widenHalf(c, in, i), c.YMM()
			c.VMASKMOVPD(col, inHalf, old)
			c.VADDPD(old, u, u)
			c.VMASKMOVPD(u, inHalf, col)
		}
	}
}

// widenHalf returns half i (0 low, 1 high) of the int32 lanes of v
// sign-extended to int64 lanes: a 32-bit mask as a 64-bit one.
func widenHalf(c *build.Context, v reg.VecVirtual, i int) reg.VecVirtual {
	w := c.YMM()
	if i == 0 {
		c.VPMOVSXDQ(v.AsX(), w)
		return w
	}
	x := c.XMM()
	c.VEXTRACTI128(U8(1), v, x)
	c.VPMOVSXDQ(x, w)
	return w
}

// hiIndexTable returns the VPERMD indices 4, 4, 5, 5, 6, 6, 7, 7, which
// put the high half of a vector of int32 masks in the high int32 of each
// int64 lane, the bit VBLENDVPD reads.
func hiIndexTable(c *build.Context) Mem {
	return rodata(c, "hiindex32", words(8, func(i int) uint32 { return uint32(4 + i/2) })...)
}

// negZero32Table returns eight float32 −0.
func negZero32Table(c *build.Context) Mem {
	return rodata(c, "negzero32", words(8, func(int) uint32 { return 1 << 31 })...)
}

// negZeroTable returns four float64 −0.
func negZeroTable(c *build.Context) Mem {
	z := U64(1 << 63)
	return rodata(c, "negzero64", z, z, z, z)
}
