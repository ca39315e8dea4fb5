package main

import (
	"fmt"
	"math/bits"
)

// lowerSumKernel is lowerSumNEON, the lowerSumFunc (kernel.go; the
// reference is lowerSumGeneric in kernel_generic.go): Σ m_j over the
// j < len(h) with rank[j] < below, in float64, m_j = h[j]·g[j] a float32
// multiply. One iteration loads vecs vectors of 4 elements of h, g and
// rank (one VLD1 each), multiplies (fmul .4s), compares below > rank
// (cmgt), ANDs m with the mask (excluded lanes become +0, an exact select
// in float32), widens (fcvtl, fcvtl2) and adds into 2·vecs .2d
// accumulators, one per half vector, so the adds form 2·vecs independent
// chains. Whole vectors left over go one at a time into the first two
// accumulators; after the tree reduction to one float64 the last len mod 4
// elements are added one by one, so nothing at or past len(h) is read.
func lowerSumKernel(vecs int) *kernelFunc {
	if vecs < 1 || vecs > 4 {
		panic(fmt.Sprintf("lowerSumNEON: %d vectors a step, want 1 to 4 (one VLD1)", vecs))
	}
	// Registers: below in V0; h, then m, in V1..; g in the next vecs;
	// rank, then the mask, then the selected m in the next vecs; the
	// widened halves after them; the accumulators at the top.
	below := vreg(0)
	mv := func(i int) vreg { return vreg(1 + i) }
	gv := func(i int) vreg { return vreg(1 + vecs + i) }
	rv := func(i int) vreg { return vreg(1 + 2*vecs + i) }
	wide := func(i, h int) vreg { return vreg(1 + 3*vecs + 2*i + h) }
	nacc := 2 * vecs
	accBase := vreg(32 - nacc)
	acc := func(i, h int) vreg { return accBase + vreg(2*i+h) }
	if wide(vecs-1, 1) >= accBase {
		panic("lowerSumNEON: out of registers")
	}
	block := 4 * vecs // elements an iteration
	f := &kernelFunc{
		name: "lowerSumNEON",
		doc: []string{
			"lowerSumNEON returns Σ h[j]·g[j] (a float32 product) over the j < len(h) with",
			"rank[j] < below (signed), summed in float64; len(g), len(rank) ≥ len(h): a",
			"lowerSumFunc (kernel.go). Refer to lowerSumGeneric in kernel_generic.go.",
		},
		comments: []string{
			fmt.Sprintf("Registers: V0 below, V%d–V%d h then m, V%d–V%d g, V%d–V%d rank then selected m,",
				mv(0), mv(vecs-1), gv(0), gv(vecs-1), rv(0), rv(vecs-1)),
			fmt.Sprintf("V%d–V%d widened, V%d–V31 the %d float64 sums; R0 h, R1 len, R2 rank, R3 below,",
				wide(0, 0), wide(vecs-1, 1), accBase, nacc),
			"R4 count, R5 g.",
		},
		params:  []param{{"h", "[]float32"}, {"g", "[]float32"}, {"rank", "[]int32"}, {"below", "int32"}},
		results: []param{{"", "float64"}},
	}
	f.body = func(a *asm) {
		a.ins("MOVD", f.arg("h", "base")+", R0")
		a.ins("MOVD", f.arg("h", "len")+", R1")
		a.ins("MOVD", f.arg("g", "base")+", R5")
		a.ins("MOVD", f.arg("rank", "base")+", R2")
		a.insc("MOVW", f.arg("below", "")+", R3", "sign-extended")
		a.ins("VDUP", "R3, "+below.S4())
		for i := range vecs {
			for h := range 2 {
				v := acc(i, h)
				a.ins("VEOR", fmt.Sprintf("%s, %s, %s", v.B16(), v.B16(), v.B16()))
			}
		}
		// step emits the body for n vectors (1 or vecs) at R0, R2.
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
				a.insc("VAND", fmt.Sprintf("%s, %s, %s", mv(i).B16(), rv(i).B16(), rv(i).B16()), "m where rank < below, else +0")
			}
			for i := range n {
				a.word(fcvtl(wide(i, 0), rv(i)))
				a.word(fcvtl2(wide(i, 1), rv(i)))
			}
			for i := range n {
				for h := range 2 {
					a.word(faddD2(acc(i, h), acc(i, h), wide(i, h)))
				}
			}
		}

		a.comment("Iterations of %d elements.", block)
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
		for h := nacc / 2; h >= 1; h /= 2 {
			for i := range h {
				d := accBase + vreg(i)
				a.word(faddD2(d, d, d+vreg(h)))
			}
		}
		s := accBase
		a.word(faddpD(s, s))

		a.comment("The last len mod 4 elements, one by one.")
		a.ins("AND", "$3, R1, R1")
		a.ins("CBZ", "R1, done")
		a.label("tail")
		a.insc("MOVW.P", "4(R2), R4", "rank[j] (sign-extended)")
		a.insc("FMOVS.P", "4(R0), F1", "h[j]")
		a.insc("FMOVS.P", "4(R5), F2", "g[j]")
		a.ins("CMP", "R3, R4")
		a.insc("BGE", "next", "if rank[j] >= below: skip")
		a.insc("FMULS", "F2, F1, F1", "m = h·g in float32")
		a.ins("FCVTSD", "F1, F1")
		a.ins("FADDD", fmt.Sprintf("F1, %s, %s", s.F(), s.F()))
		a.label("next")
		a.ins("SUBS", "$1, R1, R1")
		a.ins("BNE", "tail")
		a.label("done")
		a.ins("FMOVD", fmt.Sprintf("%s, %s", s.F(), f.arg("ret", "")))
		a.ins("RET", "")
	}
	return f
}
