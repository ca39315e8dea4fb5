package main

import "fmt"

// widenBlock is the entries one iteration of widenAddNEON adds: two .4s
// registers of src, four .2d registers of dst.
const widenBlock = 8

// widenAddKernel is widenAddNEON, the widenAddFunc (kernel.go; the
// reference is widenAddGeneric in kernel_generic.go): dst[i] +=
// float64(src[i]) for i < len(src). An iteration loads 8 entries of src
// (VLD1.P of two registers) and of dst (VLD1 of four), widens src exactly
// (fcvtl, fcvtl2), adds with fadd .2d (dst's value first, as the scalar
// tail and the generic loop order the operands) and stores dst (VST1.P);
// the last len mod 8 entries go one by one (fcvt, fadd), so nothing at or
// past len(src) of either is read or written. One rounding an entry, so
// it agrees with the generic one bit for bit.
func widenAddKernel() *kernelFunc {
	const (
		loadS = vreg(0) // V0–V1: src[i : i+8]
		loadD = vreg(2) // V2–V5: dst[i : i+8]
		wide  = vreg(6) // V6–V9: src[i : i+8] widened
	)
	f := &kernelFunc{
		name: "widenAddNEON",
		doc: []string{
			"widenAddNEON adds src, widened to float64, to dst (len(src) entries), with",
			"NEON. It implements widenAddFunc (kernel.go); refer to widenAddGeneric in",
			"kernel_generic.go.",
		},
		comments: []string{
			"Registers: V0–V1 src, V2–V5 dst, V6–V9 src widened; R0 dst, R1 src, R2 len, R3 count.",
		},
		params: []param{{"dst", "[]float64"}, {"src", "[]float32"}},
	}
	f.body = func(a *asm) {
		a.ins("MOVD", f.arg("dst", "base")+", R0")
		a.ins("MOVD", f.arg("src", "base")+", R1")
		a.ins("MOVD", f.arg("src", "len")+", R2")
		a.comment("Blocks of %d entries.", widenBlock)
		a.insc("LSR", "$3, R2, R3", "len / 8")
		a.ins("CBZ", "R3, rest")
		countedLoop(a, "loop", "R3", func() {
			a.insc("VLD1.P", fmt.Sprintf("32(R1), %s", regList(loadS, 2, vreg.S4)), "src[i : i+8]")
			a.insc("VLD1", fmt.Sprintf("(R0), %s", regList(loadD, 4, vreg.D2)), "dst[i : i+8]")
			for j := range 2 {
				a.word(fcvtl(wide+vreg(2*j), loadS+vreg(j)))
				a.word(fcvtl2(wide+vreg(2*j+1), loadS+vreg(j)))
			}
			for j := range 4 {
				d := loadD + vreg(j)
				a.word(faddD2(d, d, wide+vreg(j)))
			}
			a.ins("VST1.P", fmt.Sprintf("%s, 64(R0)", regList(loadD, 4, vreg.D2)))
		})

		a.comment("The last len mod 8 entries, one by one.")
		a.label("rest")
		a.ins("AND", "$7, R2, R2")
		a.ins("CBZ", "R2, done")
		countedLoop(a, "tail", "R2", func() {
			a.insc("FMOVS.P", "4(R1), F0", "src[i]")
			a.ins("FCVTSD", "F0, F0")
			a.insc("FMOVD", "(R0), F1", "dst[i]")
			a.insc("FADDD", "F0, F1, F1", "dst[i] + src[i], one rounding")
			a.ins("FMOVD.P", "F1, 8(R0)")
		})
		a.label("done")
		a.ins("RET", "")
	}
	return f
}
