package main

import "fmt"

// The small-T products (gemv32Func and gemv16Func in kernel.go; the
// reference is gemvGeneric in kernel_generic.go), the NEON twins of
// asm/gemv.go: one function per token count t ≤ GemvT and weight format,
// for a panel of NR outputs. A call of a few tokens is bound by reading the
// weight, so each K step loads one row of the panel (NR/4 registers),
// widens it to float32 when it is stored in 16 bits — float16 with fcvtl
// (4h to 4s), bfloat16 in output order by zip1 with a zero register, which
// puts each value in the top half of a float32 — then, for each token,
// broadcasts its value of the channel (VLD1R) and does NR/4 fmla into that
// token's accumulators: one chain per accumulator in channel order, as
// gemvGeneric sums. Then bias is added and rows i < t are stored (whole,
// or through a scratch tile in the frame when n < NR).

// GemvT is the most tokens of one NEON small-T kernel.
const GemvT = 8

// A gemvFormat is the weight format one small-T kernel reads.
type gemvFormat struct {
	kind  string // the name's prefix: gemv, gemvBF16, gemvF16
	wType string // Go type of w
	bytes int    // bytes of one weight
	doc   string
}

var gemvFormats = []gemvFormat{
	{"gemv", "[]float32", 4, "a float32 panel"},
	{"gemvBF16", "[]uint16", 2, "a bfloat16 panel (in output order)"},
	{"gemvF16", "[]uint16", 2, "a float16 panel"},
}

// Registers of the small-T kernels. Vector: the loaded row in V0–V2, the
// widened row in V3–V5, zero in V6, the broadcast token value in V7, the
// accumulators from V8 (t·NR/4 of them, 24 at most). General: R0–R7 the
// tokens' rows of x, R8 w, R9 the channels left, R19 bias, R20 c, R21 ldc
// in bytes, R22 n, R23–R25 temporaries.
const (
	gemvZero  vreg = 6
	gemvBcast vreg = 7
	gemvAcc   vreg = 8
)

func gemvAccReg(i, j int) vreg { return gemvAcc + vreg(i*(NR/4)+j) }

// gemvKernels returns the small-T kernels by format kind, for 1 … GemvT
// tokens, and the widening kernels of the 16-bit formats (widenBF16,
// widenF16).
func gemvKernels() map[string][]*kernelFunc {
	if NR/4 > 3 || GemvT*NR/4 > 32-int(gemvAcc) || GemvT > 8 {
		panic(fmt.Sprintf("gemv: %d tokens × %d outputs do not fit the registers", GemvT, NR))
	}
	ks := map[string][]*kernelFunc{}
	for _, f := range gemvFormats {
		for t := 1; t <= GemvT; t++ {
			ks[f.kind] = append(ks[f.kind], gemvKernel(f, t))
		}
		if f.bytes == 2 {
			kind := "widen" + f.kind[len("gemv"):]
			ks[kind] = []*kernelFunc{widenKernel(f)}
		}
	}
	return ks
}

func gemvKernel(fm gemvFormat, t int) *kernelFunc {
	nv := NR / 4
	name := fmt.Sprintf("%sNEON_%dx%d", fm.kind, t, NR)
	impl := "gemv32Func"
	if fm.bytes == 2 {
		impl = "gemv16Func"
	}
	tile := t * NR * 4
	f := &kernelFunc{
		name: name,
		doc: []string{
			fmt.Sprintf("%s sets c[i·ldc+j] to Σ_p x[i·ldx+p]·w[p, j] + bias[j] for the", name),
			fmt.Sprintf("i < %d tokens and j < n outputs of %s of %d outputs: a %s", t, fm.doc, NR, impl),
			"(kernel.go). Refer to gemvGeneric in kernel_generic.go for the reference.",
		},
		comments: []string{
			fmt.Sprintf("Frame: the %d-byte scratch tile, used only when n < %d.", tile, NR),
			fmt.Sprintf("Registers: V0–V5 the row, V6 zero, V7 the token's value, V%d–V%d the tile.",
				gemvAcc, gemvAccReg(t-1, nv-1)),
		},
		params: []param{{"x", "[]float32"}, {"ldx", "int"}, {"w", fm.wType}, {"depth", "int"},
			{"bias", "[]float32"}, {"c", "[]float32"}, {"ldc", "int"}, {"n", "int"}},
		frame: tile,
	}
	f.body = func(a *asm) {
		a.ins("MOVD", f.arg("x", "base")+", R0")
		a.ins("MOVD", f.arg("ldx", "")+", R23")
		a.insc("LSL", "$2, R23, R23", "R23 = ldx in bytes")
		for i := 1; i < t; i++ {
			a.insc("ADD", fmt.Sprintf("R23, R%d, R%d", i-1, i), fmt.Sprintf("x row %d", i))
		}
		a.ins("MOVD", f.arg("w", "base")+", R8")
		a.ins("MOVD", f.arg("depth", "")+", R9")
		for i := range t {
			for j := range nv {
				v := gemvAccReg(i, j)
				a.ins("VEOR", fmt.Sprintf("%s, %s, %s", v.B16(), v.B16(), v.B16()))
			}
		}
		a.ins("VEOR", fmt.Sprintf("%s, %s, %s", gemvZero.B16(), gemvZero.B16(), gemvZero.B16()))
		a.insc("CBZ", "R9, sum", "if depth == 0: bias alone")
		a.label("loop")
		row := loadRow(a, fm, "R8")
		for i := range t {
			a.insc("VLD1R.P", fmt.Sprintf("4(R%d), [%s]", i, gemvBcast.S4()), fmt.Sprintf("x[%d·ldx+p] in every lane", i))
			for j := range nv {
				a.ins("VFMLA", fmt.Sprintf("%s, %s, %s", (row+vreg(j)).S4(), gemvBcast.S4(), gemvAccReg(i, j).S4()))
			}
		}
		a.ins("SUBS", "$1, R9, R9")
		a.ins("BNE", "loop")

		a.label("sum")
		a.comment("tile += bias, after the sum, in the order gemvGeneric rounds.")
		a.ins("MOVD", f.arg("bias", "base")+", R19")
		a.ins("VLD1", "(R19), "+regList(0, nv, vreg.S4))
		for i := range t {
			for j := range nv {
				a.word(faddS4(gemvAccReg(i, j), gemvAccReg(i, j), vreg(j)))
			}
		}
		a.ins("MOVD", f.arg("c", "base")+", R20")
		a.ins("MOVD", f.arg("ldc", "")+", R21")
		a.insc("LSL", "$2, R21, R21", "R21 = ldc in bytes")
		a.ins("MOVD", f.arg("n", "")+", R22")
		a.insc("CMP", fmt.Sprintf("$%d, R22", NR), fmt.Sprintf("if n < %d: partial", NR))
		a.ins("BLT", "partial")
		for i := range t {
			list := regList(gemvAccReg(i, 0), nv, vreg.S4)
			if i+1 < t {
				a.insc("VST1.P", list+", (R20)(R21)", fmt.Sprintf("c row %d", i))
			} else {
				a.insc("VST1", list+", (R20)", fmt.Sprintf("c row %d", i))
			}
		}
		a.ins("RET", "")

		a.comment("Partial rows: the tile to the frame, then its t×n corner to c.")
		a.label("partial")
		scratch := fmt.Sprintf("$tile-%d(SP)", tile)
		a.ins("MOVD", scratch+", R23")
		for i := range t {
			a.ins("VST1.P", fmt.Sprintf("%s, %d(R23)", regList(gemvAccReg(i, 0), nv, vreg.S4), 4*NR))
		}
		a.ins("MOVD", scratch+", R23")
		a.ins("MOVD", fmt.Sprintf("$%d, R25", t))
		copyCorner(a, cornerRegs{tile: "R23", c: "R20", ldc: "R21", m: "R25", n: "R22", src: "R24", dst: "R9", cnt: "R8"},
			4*NR, false)
	}
	return f
}

// loadRow emits the load of the next weight row at ptr (which advances)
// into V0–V2, widened into V3–V5 when fm is a 16-bit format, and returns
// the first register of the float32 row.
func loadRow(a *asm, fm gemvFormat, ptr string) vreg {
	nv := NR / 4
	if fm.bytes == 4 {
		a.insc("VLD1.P", fmt.Sprintf("%d(%s), %s", 4*NR, ptr, regList(0, nv, vreg.S4)), "w row p")
		return 0
	}
	a.insc("VLD1.P", fmt.Sprintf("%d(%s), %s", 2*NR, ptr, regList(0, nv, h4)), "w row p, 16 bits")
	row := vreg(3)
	for j := range nv {
		if fm.kind == "gemvF16" {
			a.word(fcvtlH(row+vreg(j), vreg(j)))
		} else {
			a.insc("VZIP1", fmt.Sprintf("V%d.H8, V%d.H8, V%d.H8", j, gemvZero, row+vreg(j)),
				fmt.Sprintf("v%d = the bfloat16 of v%d in the top halves", row+vreg(j), j))
		}
	}
	return row
}

// widenKernel is the widening kernel of format fm (widen16Func in
// kernel.go; the reference is kernel.unpack16 in pack16.go): whole rows of
// NR, each loaded and widened as the small-T kernels do (loadRow), then
// stored.
func widenKernel(fm gemvFormat) *kernelFunc {
	name := fmt.Sprintf("widen%sNEON_%d", fm.kind[len("gemv"):], NR)
	f := &kernelFunc{
		name: name,
		doc: []string{
			fmt.Sprintf("%s sets dst to src widened to float32: src is whole rows of %d", name, NR),
			fmt.Sprintf("outputs of %s, dst as long. It implements widen16Func", fm.doc),
			"(kernel.go); refer to kernel.unpack16 in pack16.go.",
		},
		comments: []string{"Registers: V0–V5 the row, V6 zero; R0 dst, R1 src, R2 rows."},
		params:   []param{{"dst", "[]float32"}, {"src", "[]uint16"}},
	}
	f.body = func(a *asm) {
		a.ins("MOVD", f.arg("dst", "base")+", R0")
		a.ins("MOVD", f.arg("src", "base")+", R1")
		a.ins("MOVD", f.arg("src", "len")+", R2")
		a.ins("MOVD", fmt.Sprintf("$%d, R3", NR))
		a.insc("UDIV", "R3, R2, R2", fmt.Sprintf("rows = len(src) / %d", NR))
		a.ins("VEOR", fmt.Sprintf("%s, %s, %s", gemvZero.B16(), gemvZero.B16(), gemvZero.B16()))
		a.insc("CBZ", "R2, done", "if no row: done")
		a.label("loop")
		row := loadRow(a, fm, "R1")
		a.ins("VST1.P", fmt.Sprintf("%s, %d(R0)", regList(row, NR/4, vreg.S4), 4*NR))
		a.ins("SUBS", "$1, R2, R2")
		a.ins("BNE", "loop")
		a.label("done")
		a.ins("RET", "")
	}
	return f
}

// h4 names the register as four halfwords, in Go's syntax.
func h4(v vreg) string { v.check(); return fmt.Sprintf("V%d.H4", int(v)) }
