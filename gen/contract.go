package main

import "fmt"

// contractBlock is the library's contractBlock: the entries of one
// iteration, two VLD1 registers of each input.
const contractBlock = 8

// contractKernel is contractNEON, the contractFunc (kernel.go; the
// reference is contractGeneric in kernel_generic.go): for j < len(h), with
// v = h·g and w = fg·h²·gd + fh·g²·hd in float64, it adds Σv, Σv·mask, Σw
// and Σw·mask to s. An iteration loads contractBlock entries of h and g
// (one VLD1 of two registers each) and of the float64 mask, hd and gd
// (four .2d registers each) and takes them in four groups of two lanes, h
// and g widened with fcvtl or fcvtl2; even groups add into one set of four
// .2d accumulators and odd groups into another, so each chain has two
// groups of work between its adds. The last len mod contractBlock entries
// go one by one in scalar float64 (fcvt, fmul, fadd: w's two parts added,
// not fused) into four scalar sums, added to s after the vector sums, so
// nothing at or past len(h) is read.
func contractKernel() *kernelFunc {
	const (
		loaded = vreg(2)  // h V2–V3, g V4–V5
		accs   = vreg(24) // set s: V24+4s … V27+4s
	)
	// The float64 inputs' registers, group by group: mask V6–V9, hd
	// V18–V21, gd V10–V11 and V22–V23.
	in64 := [][4]vreg{{6, 7, 8, 9}, {18, 19, 20, 21}, {10, 11, 22, 23}}
	widen := func(d vreg, input, group int) word { return widenGroup(d, loaded, input, group) }
	f := &kernelFunc{
		name: "contractNEON",
		doc: []string{
			"contractNEON adds to s Σ h·g, Σ h·g·mask, Σ w and Σ w·mask with",
			"w = fg·h²·gd + fh·g²·hd, in float64, any len(h): a contractFunc (kernel.go).",
			"Refer to contractGeneric in kernel_generic.go for the reference.",
		},
		comments: []string{
			"Registers: V0 fg, V1 fh, V2–V5 h, g (two each), V6–V11 and V18–V23 mask, hd,",
			"gd (four each), V12–V17 widened and products, V24–V31 two sets of the four",
			"float64 sums, F18 and F19–F22 the last entries' gd and sums; R0–R4 the inputs,",
			"R5 count, R7 the last entries.",
		},
		params: []param{{"h", "[]float32"}, {"g", "[]float32"}, {"mask", "[]float64"},
			{"hd", "[]float64"}, {"gd", "[]float64"}, {"fg", "float64"}, {"fh", "float64"}, {"s", "*[4]float64"}},
	}
	f.body = func(a *asm) {
		contractStart(a, f, []string{"h", "g"}, []string{"mask", "hd", "gd"}, nil, loaded, accs, 8)
		loadFloat64s(a, []string{"mask", "hd", "gd"}, in64, 2)
		for group := range 4 {
			acc := func(i int) vreg { return accs + vreg(4*(group%2)+i) }
			mw := in64[0][group]
			contractTerms(a, func(d vreg, input int) word { return widen(d, input, group) },
				func(input int) vreg { return in64[input-1][group] })
			a.word(faddD2(acc(0), acc(0), pw))
			a.insc("VFMLA", fmt.Sprintf("%s, %s, %s", mw.D2(), pw.D2(), acc(1).D2()), "Σ v·mask")
			a.word(faddD2(acc(2), acc(2), ww))
			a.insc("VFMLA", fmt.Sprintf("%s, %s, %s", mw.D2(), ww.D2(), acc(3).D2()), "Σ w·mask")
		}
		a.ins("SUBS", "$1, R5, R5") // the count, after the five inputs
		a.ins("BNE", "loop")

		a.label("reduce")
		contractTail(a, f)
		a.comment("Fold the sets, then add [Σv, Σv·mask], [Σw, Σw·mask] to s.")
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
		a.comment("Then the last entries' sums, if there were any (s keeps a −0 otherwise).")
		a.ins("CBZ", "R7, done")
		for i := range 4 {
			a.ins("FMOVD", fmt.Sprintf("%d(R0), F12", 8*i))
			a.ins("FADDD", fmt.Sprintf("F%d, F12, F12", 19+i))
			a.ins("FMOVD", fmt.Sprintf("F12, %d(R0)", 8*i))
		}
		a.label("done")
		a.ins("RET", "")
	}
	return f
}

// contractTail emits contractNEON's last len mod contractBlock entries, one
// by one from where the loop left R0–R4, into the scalar sums F19 (Σv),
// F20 (Σv·mask), F21 (Σw) and F22 (Σw·mask): v and w as contractTerms
// forms them, w's parts added unfused. R7 keeps their count.
func contractTail(a *asm, f *kernelFunc) {
	a.comment("The last len mod %d entries, one by one.", contractBlock)
	a.ins("MOVD", f.arg("h", "len")+", R7")
	a.ins("AND", fmt.Sprintf("$%d, R7, R7", contractBlock-1))
	a.ins("CBZ", "R7, fold")
	for i := 19; i <= 22; i++ {
		a.ins("FMOVD", fmt.Sprintf("ZR, F%d", i))
	}
	a.ins("MOVD", "R7, R6")
	a.label("tail")
	for i, r := range []string{"F12", "F13", "F14", "F15", "F18"} { // h, g, then mask, hd, gd in float64
		if i >= 2 {
			a.ins("FMOVD.P", fmt.Sprintf("8(R%d), %s", i, r))
			continue
		}
		a.ins("FMOVS.P", fmt.Sprintf("4(R%d), %s", i, r))
		a.ins("FCVTSD", fmt.Sprintf("%s, %s", r, r))
	}
	a.insc("FMULD", "F13, F12, F16", "v = h·g")
	a.ins("FMULD", "F12, F12, F12")
	a.insc("FMULD", "F18, F12, F12", "h²·gd")
	a.ins("FMULD", "F13, F13, F13")
	a.insc("FMULD", "F15, F13, F13", "g²·hd")
	a.ins("FMULD", "F0, F12, F17")
	a.ins("FMULD", "F1, F13, F13")
	a.insc("FADDD", "F13, F17, F17", "w = fg·h²·gd + fh·g²·hd")
	for i, t := range []string{"F16", "F17"} { // v into F19, F20, then w into F21, F22
		sum, masked := 19+2*i, 20+2*i
		a.ins("FADDD", fmt.Sprintf("%s, F%d, F%d", t, sum, sum))
		a.ins("FMULD", fmt.Sprintf("F14, %s, %s", t, t))
		a.insc("FADDD", fmt.Sprintf("%s, F%d, F%d", t, masked, masked), "the masked sum")
	}
	a.ins("SUBS", "$1, R6, R6")
	a.ins("BNE", "tail")
	a.label("fold")
}

// contractStart emits the start of contractNEON and contractSplitNEON: the
// bases of the float32 inputs in, then of the float64 inputs in64 and
// columns cols, into R0, R1, …; in the next register the count of
// iterations, len(h) / contractBlock (none: on to reduce); fg and fh
// broadcast into V0, V1; nacc accumulators from acc on zeroed; then the
// loop label and each float32 input's contractBlock entries loaded into
// two registers from loaded on (the caller loads the rest).
func contractStart(a *asm, f *kernelFunc, in, in64, cols []string, loaded, acc vreg, nacc int) {
	ptrs := append(append(append([]string(nil), in...), in64...), cols...)
	for i, name := range ptrs {
		a.ins("MOVD", fmt.Sprintf("%s, R%d", f.arg(name, "base"), i))
	}
	count, tmp := len(ptrs), len(ptrs)+1
	a.ins("MOVD", fmt.Sprintf("%s, R%d", f.arg("h", "len"), count))
	for i, name := range []string{"fg", "fh"} {
		a.ins("MOVD", fmt.Sprintf("%s, R%d", f.arg(name, ""), tmp))
		a.ins("VDUP", fmt.Sprintf("R%d, %s", tmp, vreg(i).D2()))
	}
	for v := acc; v < acc+vreg(nacc); v++ {
		a.ins("VEOR", fmt.Sprintf("%s, %s, %s", v.B16(), v.B16(), v.B16()))
	}
	a.comment("Iterations of %d entries.", contractBlock)
	a.ins("LSR", fmt.Sprintf("$3, R%d, R%d", count, count))
	a.ins("CBZ", fmt.Sprintf("R%d, reduce", count))
	a.label("loop")
	for i, name := range in {
		a.insc("VLD1.P", fmt.Sprintf("32(R%d), %s", i, regList(loaded+vreg(2*i), 2, vreg.S4)), name+"[j : j+8]")
	}
}

// loadFloat64s emits the loads of contractBlock float64 entries of each
// input names[i], from the pointer in R(first+i), into regs[i]: two
// VLD1s of two .2d registers each (the pairs need not be adjacent).
func loadFloat64s(a *asm, names []string, regs [][4]vreg, first int) {
	for i, name := range names {
		for half := range 2 {
			a.insc("VLD1.P", fmt.Sprintf("32(R%d), %s", first+i, regList(regs[i][2*half], 2, vreg.D2)),
				fmt.Sprintf("%s[j+%d : j+%d]", name, 4*half, 4*half+4))
		}
	}
}

// The registers contractNEON and contractSplitNEON share: the broadcast
// factors, the widened h and g of a group of two lanes (squared and scaled
// in place), and the group's v and w; tw is a scratch register of
// contractSplitNEON's last fold (in the loop, part of gd).
const (
	fg, fh = vreg(0), vreg(1)
	hw, gw = vreg(12), vreg(13)
	tw     = vreg(15)
	pw, ww = vreg(16), vreg(17)
)

// widenGroup widens group (two lanes: 0, 1 of the first register, 2, 3 of
// it, then of the second) of input, loaded two registers an input from
// register loaded on, into d (fcvtl or fcvtl2).
func widenGroup(d, loaded vreg, input, group int) word {
	src := loaded + vreg(2*input+group/2)
	if group%2 == 0 {
		return fcvtl(d, src)
	}
	return fcvtl2(d, src)
}

// contractTerms emits the arithmetic of one group of two lanes, the same in
// both kernels: v = h·g into pw and w = fg·((h·h)·gd) + fh·((g·g)·hd) into
// ww, in that order. widen(d, i) widens the group of h or g (i = 0, 1) into
// d; diag(i) returns the register that holds the group of hd or gd (i = 2,
// 3) as float64, loaded before (loadFloat64s).
func contractTerms(a *asm, widen func(d vreg, input int) word, diag func(input int) vreg) {
	a.word(widen(hw, 0))
	a.word(widen(gw, 1))
	a.word(fmulD2(pw, hw, gw))
	a.word(fmulD2(hw, hw, hw))
	a.word(fmulD2(hw, hw, diag(3)))
	a.word(fmulD2(gw, gw, gw))
	a.word(fmulD2(gw, gw, diag(2)))
	a.word(fmulD2(ww, hw, fg))
	a.insc("VFMLA", fmt.Sprintf("%s, %s, %s", fh.D2(), gw.D2(), ww.D2()), "w = fg·h²·gd + fh·g²·hd")
}

// contractSplitKernel is contractSplitNEON, the contractSplitFunc
// (kernel.go; the reference is contractSplitGeneric in kernel_generic.go):
// contractNEON's v and w, the same arithmetic in the same order
// (contractTerms), without the mask, summed into s[0] and s[2] (s[1] and
// s[3] are not touched) and added to colV and colW entry by entry. An
// iteration loads contractBlock entries of h, g, hd and gd (one VLD1 of
// two registers each) and of colV and colW (one VLD1 of four .2d
// registers each), takes the inputs in four groups of two lanes, even
// groups into one pair of accumulators and odd groups into another, adds
// each group's v and w to its column registers (fadd .2d) and stores the
// columns whole. The caller does the last len mod contractBlock entries.
func contractSplitKernel() *kernelFunc {
	const (
		loaded = vreg(2)  // h V2–V3, g V4–V5
		colV   = vreg(18) // V18–V21
		colW   = vreg(22) // V22–V25
		accs   = vreg(28) // set s: Σv V28+2s, Σw V29+2s
	)
	// The float64 diagonals' registers, group by group: hd V6–V9, gd
	// V10–V11 and V14–V15.
	in64 := [][4]vreg{{6, 7, 8, 9}, {10, 11, 14, 15}}
	f := &kernelFunc{
		name: "contractSplitNEON",
		doc: []string{
			"contractSplitNEON adds to s[0] Σ v and to s[2] Σ w with v = h·g and",
			"w = fg·h²·gd + fh·g²·hd, in float64, and v_j to colV[j], w_j to colW[j];",
			"len(h) a multiple of 8: a contractSplitFunc (kernel.go). Refer to",
			"contractSplitGeneric in kernel_generic.go for the reference.",
		},
		comments: []string{
			"Registers: V0 fg, V1 fh, V2–V5 h, g (two each), V6–V11, V14, V15 hd, gd (four",
			"each), V12, V13, V16, V17 widened and products, V18–V21 colV, V22–V25 colW,",
			"V28–V31 two sets of Σv, Σw; R0–R3 the inputs, R4 colV, R5 colW, R6 count.",
		},
		params: []param{{"h", "[]float32"}, {"g", "[]float32"}, {"hd", "[]float64"}, {"gd", "[]float64"},
			{"fg", "float64"}, {"fh", "float64"}, {"colV", "[]float64"}, {"colW", "[]float64"}, {"s", "*[4]float64"}},
	}
	f.body = func(a *asm) {
		contractStart(a, f, []string{"h", "g"}, []string{"hd", "gd"}, []string{"colV", "colW"}, loaded, accs, 4)
		loadFloat64s(a, []string{"hd", "gd"}, in64, 2)
		a.insc("VLD1", fmt.Sprintf("(R4), %s", regList(colV, 4, vreg.D2)), "colV[j : j+8]")
		a.insc("VLD1", fmt.Sprintf("(R5), %s", regList(colW, 4, vreg.D2)), "colW[j : j+8]")
		for group := range 4 {
			set := accs + vreg(2*(group%2))
			contractTerms(a, func(d vreg, input int) word { return widenGroup(d, loaded, input, group) },
				func(input int) vreg { return in64[input-2][group] })
			a.word(faddD2(set, set, pw))
			a.word(faddD2(set+1, set+1, ww))
			a.word(faddD2(colV+vreg(group), colV+vreg(group), pw))
			a.word(faddD2(colW+vreg(group), colW+vreg(group), ww))
		}
		a.ins("VST1.P", fmt.Sprintf("%s, 64(R4)", regList(colV, 4, vreg.D2)))
		a.ins("VST1.P", fmt.Sprintf("%s, 64(R5)", regList(colW, 4, vreg.D2)))
		a.ins("SUBS", "$1, R6, R6") // the count, after the six pointers
		a.ins("BNE", "loop")

		a.comment("Fold the sets and the lanes, then add Σv to s[0] and Σw to s[2].")
		a.label("reduce")
		a.word(faddD2(accs, accs, accs+2))
		a.word(faddD2(accs+1, accs+1, accs+3))
		a.word(faddpD(accs, accs))
		a.word(faddpD(accs+1, accs+1))
		a.ins("MOVD", f.arg("s", "")+", R0")
		for i := range 2 {
			a.ins("FMOVD", fmt.Sprintf("%d(R0), %s", 16*i, tw.F()))
			a.ins("FADDD", fmt.Sprintf("%s, %s, %s", (accs+vreg(i)).F(), tw.F(), tw.F()))
			a.ins("FMOVD", fmt.Sprintf("%s, %d(R0)", tw.F(), 16*i))
		}
		a.ins("RET", "")
	}
	return f
}
