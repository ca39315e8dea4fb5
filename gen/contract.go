package main

import "fmt"

// contractBlock is the library's contractBlock: the entries of one
// iteration, two VLD1 registers of each input.
const contractBlock = 8

// contractKernel is contractNEON, the contractFunc (kernel.go; the
// reference is contractGeneric in kernel_generic.go): for j < len(h), with
// v = h·g and w = fg·h²·gd + fh·g²·hd in float64, it adds Σv, Σv·mask, Σw
// and Σw·mask to s. An iteration loads contractBlock entries of h, g,
// mask, hd and gd (one VLD1 of two registers each) and takes them in four
// groups of two lanes, widened with fcvtl or fcvtl2; even groups add into
// one set of four .2d accumulators and odd groups into another, so each
// chain has two groups of work between its adds. The caller contracts the
// last len mod contractBlock entries in Go, so nothing at or past len(h)
// is read.
func contractKernel() *kernelFunc {
	const (
		fg, fh = vreg(0), vreg(1)
		loaded = vreg(2) // h V2–V3, g V4–V5, mask V6–V7, hd V8–V9, gd V10–V11
		hw, gw = vreg(12), vreg(13)
		mw, tw = vreg(14), vreg(15)
		pw, ww = vreg(16), vreg(17)
		accs   = vreg(24) // set s: V24+4s … V27+4s
	)
	src := func(input, group int) vreg { return loaded + vreg(2*input+group/2) }
	widen := func(d vreg, input, group int) word {
		if group%2 == 0 {
			return fcvtl(d, src(input, group))
		}
		return fcvtl2(d, src(input, group))
	}
	f := &kernelFunc{
		name: "contractNEON",
		doc: []string{
			"contractNEON adds to s Σ h·g, Σ h·g·mask, Σ w and Σ w·mask with",
			"w = fg·h²·gd + fh·g²·hd, in float64; len(h) a multiple of 8: a contractFunc",
			"(kernel.go). Refer to contractGeneric in kernel_generic.go for the reference.",
		},
		comments: []string{
			"Registers: V0 fg, V1 fh, V2–V11 h, g, mask, hd, gd (two each), V12–V17 widened",
			"and products, V24–V31 two sets of the four float64 sums; R0–R4 the inputs, R5 count.",
		},
		params: []param{{"h", "[]float32"}, {"g", "[]float32"}, {"mask", "[]float32"},
			{"hd", "[]float32"}, {"gd", "[]float32"}, {"fg", "float64"}, {"fh", "float64"}, {"s", "*[4]float64"}},
	}
	f.body = func(a *asm) {
		for i, name := range []string{"h", "g", "mask", "hd", "gd"} {
			a.ins("MOVD", fmt.Sprintf("%s, R%d", f.arg(name, "base"), i))
		}
		a.ins("MOVD", f.arg("h", "len")+", R5")
		for i, name := range []string{"fg", "fh"} {
			a.ins("MOVD", f.arg(name, "")+", R6")
			a.ins("VDUP", fmt.Sprintf("R6, %s", vreg(i).D2()))
		}
		for v := accs; v < accs+8; v++ {
			a.ins("VEOR", fmt.Sprintf("%s, %s, %s", v.B16(), v.B16(), v.B16()))
		}
		a.comment("Iterations of %d entries.", contractBlock)
		a.ins("LSR", "$3, R5, R5")
		a.ins("CBZ", "R5, reduce")
		a.label("loop")
		for i, name := range []string{"h", "g", "mask", "hd", "gd"} {
			a.insc("VLD1.P", fmt.Sprintf("32(R%d), %s", i, regList(src(i, 0), 2, vreg.S4)), name+"[j : j+8]")
		}
		for group := range 4 {
			acc := func(i int) vreg { return accs + vreg(4*(group%2)+i) }
			a.word(widen(hw, 0, group))
			a.word(widen(gw, 1, group))
			a.word(widen(mw, 2, group))
			a.word(fmulD2(pw, hw, gw))
			a.word(faddD2(acc(0), acc(0), pw))
			a.insc("VFMLA", fmt.Sprintf("%s, %s, %s", mw.D2(), pw.D2(), acc(1).D2()), "Σ v·mask")
			a.word(fmulD2(hw, hw, hw))
			a.word(widen(tw, 4, group))
			a.word(fmulD2(hw, hw, tw))
			a.word(fmulD2(gw, gw, gw))
			a.word(widen(tw, 3, group))
			a.word(fmulD2(gw, gw, tw))
			a.word(fmulD2(ww, hw, fg))
			a.insc("VFMLA", fmt.Sprintf("%s, %s, %s", fh.D2(), gw.D2(), ww.D2()), "w = fg·h²·gd + fh·g²·hd")
			a.word(faddD2(acc(2), acc(2), ww))
			a.insc("VFMLA", fmt.Sprintf("%s, %s, %s", mw.D2(), ww.D2(), acc(3).D2()), "Σ w·mask")
		}
		a.ins("SUBS", "$1, R5, R5")
		a.ins("BNE", "loop")

		a.comment("Fold the sets, then add [Σv, Σv·mask], [Σw, Σw·mask] to s.")
		a.label("reduce")
		for i := range vreg(4) {
			a.word(faddD2(accs+i, accs+i, accs+4+i))
		}
		a.word(faddpD2(pw, accs, accs+1))
		a.word(faddpD2(ww, accs+2, accs+3))
		a.ins("MOVD", f.arg("s", "")+", R0")
		a.ins("VLD1", fmt.Sprintf("(R0), %s", regList(hw, 2, vreg.D2)))
		a.word(faddD2(hw, hw, pw))
		a.word(faddD2(gw, gw, ww))
		a.ins("VST1", fmt.Sprintf("%s, (R0)", regList(hw, 2, vreg.D2)))
		a.ins("RET", "")
	}
	return f
}
