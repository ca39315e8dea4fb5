package main

import (
	"fmt"
	"math/bits"
)

// lowerSplitKernel is lowerSplitNEON, the lowerSplitFunc (kernel.go; the
// reference is lowerSplitGeneric in kernel_generic.go): m_j = h[j]·g[j] a
// float32 multiply, widened; Σ m_j over the j < len(h) with rank[j] <
// below, in float64, is returned, and m_j is added to col[j] for every
// other j. One iteration loads vecs vectors of 4 entries of h, g and rank
// (one VLD1 each), multiplies (fmul .4s) and compares below > rank (cmgt);
// then, vector by vector, the mask is sign-extended to .2d (sxtl, sxtl2)
// and m widened (fcvtl, fcvtl2); the row takes m ANDed with the mask
// (excluded lanes +0) into 2·vecs .2d accumulators, one per half vector,
// so the adds form 2·vecs independent chains; the column's 4 entries are
// loaded, m added (fadd .2d), the entries the row took put back as loaded
// (bit), and stored whole. A NaN or Inf on one side never reaches the
// other, and a column entry the row takes keeps its bits. Whole vectors
// left over go one at a time into the first two accumulators; after the
// tree reduction to one float64 the last len mod 4 entries go one by one,
// so nothing at or past len(h) is read or written.
func lowerSplitKernel(vecs int) *kernelFunc {
	if vecs < 1 || vecs > 4 {
		panic(fmt.Sprintf("lowerSplitNEON: %d vectors a step, want 1 to 4 (one VLD1)", vecs))
	}
	// Registers: below in V0; h, then m, in V1..; g, then the low half the
	// row takes, in the next vecs; rank, then the mask, then the high half,
	// in the next vecs; six temporaries for one vector's column work; the
	// accumulators at the top.
	below := vreg(0)
	mv := func(i int) vreg { return vreg(1 + i) }
	gv := func(i int) vreg { return vreg(1 + vecs + i) }
	rv := func(i int) vreg { return vreg(1 + 2*vecs + i) }
	tmp := vreg(1 + 3*vecs)
	k0, k1, w0, w1, c0, c1 := tmp, tmp+1, tmp+2, tmp+3, tmp+4, tmp+5 // w and c consecutive, for VLD1, VST1
	nacc := 2 * vecs
	accBase := vreg(32 - nacc)
	acc := func(i, h int) vreg { return accBase + vreg(2*i+h) }
	if c1 >= accBase {
		panic("lowerSplitNEON: out of registers")
	}
	block := 4 * vecs // entries an iteration
	f := &kernelFunc{
		name: "lowerSplitNEON",
		doc: []string{
			"lowerSplitNEON returns Σ h[j]·g[j] (a float32 product) over the j < len(h) with",
			"rank[j] < below (signed), summed in float64, and adds the product to col[j] for",
			"every other j < len(h); len(g), len(rank), len(col) ≥ len(h): a lowerSplitFunc",
			"(kernel.go). Refer to lowerSplitGeneric in kernel_generic.go.",
		},
		comments: []string{
			fmt.Sprintf("Registers: V0 below, V%d–V%d h then m, V%d–V%d g then the low halves taken,",
				mv(0), mv(vecs-1), gv(0), gv(vecs-1)),
			fmt.Sprintf("V%d–V%d rank then mask then the high halves, V%d–V%d masks, m and col (.2d),",
				rv(0), rv(vecs-1), k0, c1),
			fmt.Sprintf("V%d–V31 the %d float64 sums; R0 h, R1 len, R2 rank, R3 below, R4 count, R5 g,",
				accBase, nacc),
			"R6 col (loads), R7 col (stores).",
		},
		params: []param{{"h", "[]float32"}, {"g", "[]float32"}, {"rank", "[]int32"}, {"below", "int32"},
			{"col", "[]float64"}},
		results: []param{{"", "float64"}},
	}
	f.body = func(a *asm) {
		a.ins("MOVD", f.arg("h", "base")+", R0")
		a.ins("MOVD", f.arg("h", "len")+", R1")
		a.ins("MOVD", f.arg("g", "base")+", R5")
		a.ins("MOVD", f.arg("rank", "base")+", R2")
		a.ins("MOVD", f.arg("col", "base")+", R6")
		a.ins("MOVD", "R6, R7")
		a.insc("MOVW", f.arg("below", "")+", R3", "sign-extended")
		a.ins("VDUP", "R3, "+below.S4())
		for i := range vecs {
			for h := range 2 {
				v := acc(i, h)
				a.ins("VEOR", fmt.Sprintf("%s, %s, %s", v.B16(), v.B16(), v.B16()))
			}
		}
		// step emits the body for n vectors (1 or vecs).
		step := func(n int) {
			a.insc("VLD1.P", fmt.Sprintf("%d(R0), %s", 16*n, regList(mv(0), n, vreg.S4)), fmt.Sprintf("h[j : j+%d]", 4*n))
			a.insc("VLD1.P", fmt.Sprintf("%d(R5), %s", 16*n, regList(gv(0), n, vreg.S4)), fmt.Sprintf("g[j : j+%d]", 4*n))
			a.insc("VLD1.P", fmt.Sprintf("%d(R2), %s", 16*n, regList(rv(0), n, vreg.S4)), fmt.Sprintf("rank[j : j+%d]", 4*n))
			for i := range n {
				a.word(fmulS4(mv(i), mv(i), gv(i)))
			}
			for i := range n {
				a.word(cmgtS4(rv(i), below, rv(i)))
			}
			for i := range n {
				a.word(sxtl(k0, rv(i)))
				a.word(sxtl2(k1, rv(i)))
				a.word(fcvtl(w0, mv(i)))
				a.word(fcvtl2(w1, mv(i)))
				a.insc("VAND", fmt.Sprintf("%s, %s, %s", k0.B16(), w0.B16(), gv(i).B16()), "m where rank < below, else +0")
				a.ins("VAND", fmt.Sprintf("%s, %s, %s", k1.B16(), w1.B16(), rv(i).B16()))
				a.word(faddD2(acc(i, 0), acc(i, 0), gv(i)))
				a.word(faddD2(acc(i, 1), acc(i, 1), rv(i)))
				a.insc("VLD1.P", fmt.Sprintf("32(R6), %s", regList(c0, 2, vreg.D2)), "col[j : j+4]")
				a.word(faddD2(w0, c0, w0))
				a.word(faddD2(w1, c1, w1))
				a.insc("VBIT", fmt.Sprintf("%s, %s, %s", k0.B16(), c0.B16(), w0.B16()), "col where rank < below, else col + m")
				a.ins("VBIT", fmt.Sprintf("%s, %s, %s", k1.B16(), c1.B16(), w1.B16()))
				a.ins("VST1.P", fmt.Sprintf("%s, 32(R7)", regList(w0, 2, vreg.D2)))
			}
		}

		a.comment("Iterations of %d entries.", block)
		a.ins("LSR", fmt.Sprintf("$%d, R1, R4", bits.TrailingZeros(uint(block))))
		a.ins("CBZ", "R4, vectors")
		a.label("loop")
		step(vecs)
		a.ins("SUBS", "$1, R4, R4")
		a.ins("BNE", "loop")

		a.label("vectors")
		if vecs > 1 {
			a.comment("Whole vectors left: (len mod %d) / 4.", block)
			a.ins("AND", fmt.Sprintf("$%d, R1, R4", block-1))
			a.ins("LSR", "$2, R4, R4")
			a.ins("CBZ", "R4, reduce")
			a.label("vector")
			step(1)
			a.ins("SUBS", "$1, R4, R4")
			a.ins("BNE", "vector")
		}

		a.comment("Sum the accumulators pairwise, then the two lanes.")
		a.label("reduce")
		foldTree(a, accBase, nacc, faddD2)
		s := accBase
		a.word(faddpD(s, s))

		a.comment("The last len mod 4 entries, one by one.")
		a.ins("AND", "$3, R1, R1")
		a.ins("CBZ", "R1, done")
		a.label("tail")
		a.insc("MOVW.P", "4(R2), R4", "rank[j] (sign-extended)")
		a.insc("FMOVS.P", "4(R0), F1", "h[j]")
		a.insc("FMOVS.P", "4(R5), F2", "g[j]")
		a.insc("FMULS", "F2, F1, F1", "m = h·g in float32")
		a.ins("FCVTSD", "F1, F1")
		a.ins("CMP", "R3, R4")
		a.insc("BGE", "column", "if rank[j] >= below: to col[j]")
		a.ins("FADDD", fmt.Sprintf("F1, %s, %s", s.F(), s.F()))
		a.ins("B", "next")
		a.label("column")
		a.ins("FMOVD", "(R6), F2")
		a.insc("FADDD", "F1, F2, F2", "col[j] + m")
		a.ins("FMOVD", "F2, (R6)")
		a.label("next")
		a.ins("ADD", "$8, R6, R6")
		a.ins("SUBS", "$1, R1, R1")
		a.ins("BNE", "tail")
		a.label("done")
		a.ins("FMOVD", fmt.Sprintf("%s, %s", s.F(), f.arg("ret", "")))
		a.ins("RET", "")
	}
	return f
}
