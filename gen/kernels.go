package main

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// shape is a register tile of mr tokens × nr outputs, both multiples of 4
// (one .4s vector). Its register plan is in the comment of main.go.
type shape struct{ mr, nr int }

func (s shape) na() int { return s.mr / 4 } // registers holding a row of a
func (s shape) nv() int { return s.nr / 4 } // registers holding a row of w

func (s shape) accBase() vreg { return vreg(32 - s.mr*s.nv()) }

// acc is the accumulator of row i, vector j (outputs 4j..4j+3).
func (s shape) acc(i, j int) vreg { return s.accBase() + vreg(i*s.nv()+j) }

// aLane is the register and lane that hold a[p·mr+i] in the loop.
func (s shape) aLane(i int) (vreg, int) { return vreg(i / 4), i % 4 }

// wReg is the register that holds w[row·nr+4j : +4] in the loop.
func (s shape) wReg(j int) vreg { return vreg(s.na() + j) }

func (s shape) tileBytes() int { return s.mr * s.nr * 4 }
func (s shape) rowBytes() int  { return s.nr * 4 }
func (s shape) tag() string    { return fmt.Sprintf("%dx%d", s.mr, s.nr) }

func (s shape) validate() error {
	switch {
	case s.mr < 4 || s.nr < 4 || s.mr%4 != 0 || s.nr%4 != 0:
		return fmt.Errorf("tile %s: MR and NR must be positive multiples of 4", s.tag())
	case s.na() > 4 || s.nv() > 4:
		return fmt.Errorf("tile %s: a row of a or w must fit one VLD1 (4 registers)", s.tag())
	case s.accBase() < vreg(s.na()+s.nv()):
		return fmt.Errorf("tile %s: needs %d registers", s.tag(), s.na()+s.nv()+s.mr*s.nv())
	case s.accBase() < 8:
		return fmt.Errorf("tile %s: the eval epilogue needs V0–V7 free", s.tag())
	}
	if q := s.rowBytes() >> bits.TrailingZeros(uint(s.rowBytes())); q&(q-1) != 0 && (q-1)&(q-2) != 0 {
		return fmt.Errorf("tile %s: row stride %d is not 2^a or (2^b+1)·2^a", s.tag(), s.rowBytes())
	}
	return nil
}

// regList is a register list of n consecutive registers from first, with
// the arrangement given by f (vreg.S4 or vreg.D2).
func regList(first vreg, n int, f func(vreg) string) string {
	if n < 1 || n > 4 {
		panic(fmt.Sprintf("register list of %d", n))
	}
	var r []string
	for i := range n {
		r = append(r, f(first+vreg(i)))
	}
	return "[" + strings.Join(r, ", ") + "]"
}

// param is one Go parameter or result; kernelFunc is one assembly function
// and its Go declaration.
type param struct{ name, typ string }

type kernelFunc struct {
	name     string
	doc      []string // doc comment of the stub, one line each
	comments []string // comment block before TEXT, after the signature
	params   []param
	results  []param // unnamed in the stub; the first is ret in assembly
	frame    int
	body     func(a *asm)
}

// typeSize is the size of a parameter type in the ABI0 frame; each
// parameter is aligned to its size (8 at most, slices to 8).
func typeSize(typ string) int {
	switch {
	case strings.HasPrefix(typ, "[]"):
		return 24
	case typ == "int" || typ == "float64" || strings.HasPrefix(typ, "*"):
		return 8
	case typ == "int32" || typ == "float32":
		return 4
	}
	panic("unknown type " + typ)
}

func typeAlign(typ string) int { return min(typeSize(typ), 8) }

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// goParams is the Go parameter list, consecutive parameters of the same type
// sharing it.
func (f *kernelFunc) goParams() string {
	var b strings.Builder
	for i, p := range f.params {
		b.WriteString(p.name)
		if i+1 < len(f.params) && f.params[i+1].typ == p.typ {
			b.WriteString(", ")
			continue
		}
		b.WriteString(" " + p.typ)
		if i+1 < len(f.params) {
			b.WriteString(", ")
		}
	}
	return b.String()
}

// goResults is the Go result list, with a leading space: "", " float64" or
// " (a, b)".
func (f *kernelFunc) goResults() string {
	var r []string
	for _, p := range f.results {
		r = append(r, p.typ)
	}
	switch len(r) {
	case 0:
		return ""
	case 1:
		return " " + r[0]
	}
	return " (" + strings.Join(r, ", ") + ")"
}

// offsets lays out the ABI0 argument frame: each parameter at its
// alignment, the results from the next multiple of 8; the size ends at
// the last result, unpadded, as go vet's asmdecl check counts it. The names are the parameters' and, for results, ret, ret1, ...
func (f *kernelFunc) offsets() (names []string, off []int, size int) {
	n := 0
	for _, p := range f.params {
		n = alignUp(n, typeAlign(p.typ))
		names, off = append(names, p.name), append(off, n)
		n += typeSize(p.typ)
	}
	n = alignUp(n, 8)
	for i, p := range f.results {
		n = alignUp(n, typeAlign(p.typ))
		name := "ret"
		if i > 0 {
			name = fmt.Sprintf("ret%d", i)
		}
		names, off = append(names, name), append(off, n)
		n += typeSize(p.typ)
	}
	return names, off, n
}

func (f *kernelFunc) argSize() int {
	_, _, size := f.offsets()
	return size
}

// arg names a parameter or result (or, for part "base", "len", "cap", a
// slice's word) relative to FP, as go vet's asmdecl check wants it.
func (f *kernelFunc) arg(name, part string) string {
	names, off, _ := f.offsets()
	for i, n := range names {
		if n == name {
			if part == "" {
				return fmt.Sprintf("%s+%d(FP)", name, off[i])
			}
			return fmt.Sprintf("%s_%s+%d(FP)", name, part, off[i]+8*map[string]int{"base": 0, "len": 1, "cap": 2}[part])
		}
	}
	panic("no parameter " + name)
}

func (f *kernelFunc) emit(a *asm) {
	a.comment("func %s(%s)%s", f.name, f.goParams(), f.goResults())
	a.comment("Requires: %s", strings.Join(requires, ", "))
	for _, c := range f.comments {
		a.comment("%s", c)
	}
	// Leaf functions with a small frame: NOSPLIT keeps them free of the
	// stack check; the linker's nosplit analysis verifies the frame fits.
	a.ins("TEXT", fmt.Sprintf("·%s(SB), NOSPLIT, $%d-%d", f.name, f.frame, f.argSize()))
	f.body(a)
}

// The scratch tile: mr×nr float32 at the bottom of the frame.
func tileAddr(s shape) string { return fmt.Sprintf("$tile-%d(SP)", s.tileBytes()) }

func zeroAcc(a *asm, s shape) {
	for i := range s.mr {
		for j := range s.nv() {
			v := s.acc(i, j)
			a.ins("VEOR", fmt.Sprintf("%s, %s, %s", v.B16(), v.B16(), v.B16()))
		}
	}
}

// fmaTile is the body of the product: acc[i][j] += w_j · a_i, row by row.
func fmaTile(a *asm, s shape) {
	for i := range s.mr {
		r, lane := s.aLane(i)
		for j := range s.nv() {
			a.word(fmlaElem(s.acc(i, j), s.wReg(j), r, lane))
		}
	}
}

// storeTile stores the accumulators, row-major, from ptr, which it advances.
func storeTile(a *asm, s shape, ptr string) {
	n := s.mr * s.nv()
	for r := 0; r < n; r += 4 {
		c := min(4, n-r)
		a.ins("VST1.P", fmt.Sprintf("%s, %d(%s)", regList(s.accBase()+vreg(r), c, vreg.S4), 16*c, ptr))
	}
}

// productLoop emits the loop acc += a[p]·w[row(p)] for count rows, count in
// a register it consumes. Indexed: row(p) = idx[p] (idx pointer R2, w base
// R1); else row(p) = p and R1 advances.
func productLoop(a *asm, s shape, name, count, what string, indexed bool) {
	a.insc("CMP", "$1, "+count, "if "+what+" < 1: skip")
	a.ins("BLT", name+"_done")
	a.label(name)
	if indexed {
		stride := s.rowBytes()
		shift := bits.TrailingZeros(uint(stride))
		q := stride >> shift
		a.insc("MOVW.P", "4(R2), R8", "R8 = idx[p] (sign-extended)")
		if q != 1 {
			a.insc("ADD", fmt.Sprintf("R8<<%d, R8, R8", bits.TrailingZeros(uint(q-1))), fmt.Sprintf("R8 *= %d", q))
		}
		a.insc("ADD", fmt.Sprintf("R8<<%d, R1, R8", shift), fmt.Sprintf("R8 = &w[idx[p]·%d]", s.nr))
	}
	a.insc("VLD1.P", fmt.Sprintf("%d(R0), %s", 4*s.mr, regList(0, s.na(), vreg.S4)), fmt.Sprintf("a[p·%d : p·%d+%d]", s.mr, s.mr, s.mr))
	if indexed {
		a.insc("VLD1", "(R8), "+regList(s.wReg(0), s.nv(), vreg.S4), "w row idx[p]")
	} else {
		a.insc("VLD1.P", fmt.Sprintf("%d(R1), %s", s.rowBytes(), regList(s.wReg(0), s.nv(), vreg.S4)), "w row p")
	}
	fmaTile(a, s)
	a.ins("SUBS", "$1, "+count+", "+count)
	a.ins("BNE", name)
	a.label(name + "_done")
}

func evalKernel(s shape) *kernelFunc {
	f := &kernelFunc{
		name: "evalNEON_" + s.tag(),
		doc: []string{
			fmt.Sprintf("evalNEON_%s evaluates one %d×%d tile of the pruned layer and adds its", s.tag(), s.mr, s.nr),
			"reductions Σd², Σy·y', Σy², Σy'² to s: an evalFunc (kernel.go), which leaves",
			"the prefetch hint pf unused. Refer to kernel_generic.go (evalGeneric,",
			"tileProduct, reduceTile) for the reference.",
		},
		comments: []string{
			fmt.Sprintf("Frame: the %d-byte scratch tile holds y' while d is formed.", s.tileBytes()),
			fmt.Sprintf("Registers: V0–V%d a, V%d–V%d w, V%d–V31 the tile; epilogue V0–V3, sums V4–V7.",
				s.na()-1, s.wReg(0), s.wReg(s.nv()-1), s.accBase()),
		},
		params: []param{{"a", "[]float32"}, {"w", "[]float32"}, {"idx", "[]int32"}, {"nk", "int"},
			{"bias", "[]float32"}, {"m", "int"}, {"s", "*[4]float64"}, {"pf", "[]float32"}, {"pfStep", "int"}},
		frame: s.tileBytes(),
	}
	f.body = func(a *asm) {
		a.ins("MOVD", f.arg("a", "base")+", R0")
		a.ins("MOVD", f.arg("w", "base")+", R1")
		a.ins("MOVD", f.arg("idx", "base")+", R2")
		a.insc("MOVD", f.arg("idx", "len")+", R3", "k = len(idx)")
		a.ins("MOVD", f.arg("nk", "")+", R4")
		a.ins("MOVD", f.arg("bias", "base")+", R5")
		a.ins("MOVD", f.arg("m", "")+", R6")
		a.ins("MOVD", f.arg("s", "")+", R7")
		a.insc("SUB", "R4, R3, R3", "R3 = k - nk, the pruned rows")

		a.comment("y' = a[:nk]·w[idx[:nk]], to the scratch tile.")
		zeroAcc(a, s)
		productLoop(a, s, "kept", "R4", "nk", true)
		a.ins("MOVD", tileAddr(s)+", R9")
		storeTile(a, s, "R9")

		a.comment("d = a[nk:]·w[idx[nk:]], kept in registers.")
		zeroAcc(a, s)
		productLoop(a, s, "pruned", "R3", "k-nk", true)

		// Epilogue registers.
		y1lo, y1hi, lo, hi := vreg(0), vreg(1), vreg(2), vreg(3)
		dd, yy1, yy, y1y1 := vreg(4), vreg(5), vreg(6), vreg(7)
		a.comment("Rows i < m: y1 = y' + bias, y = y1 + d, in float64; V4–V7 = Σd², Σy·y1, Σy², Σy1².")
		a.ins("MOVD", tileAddr(s)+", R9")
		for _, v := range []vreg{dd, yy1, yy, y1y1} {
			a.ins("VEOR", fmt.Sprintf("%s, %s, %s", v.B16(), v.B16(), v.B16()))
		}
		for i := range s.mr {
			a.comment("Row %d.", i)
			a.insc("CMP", fmt.Sprintf("$%d, R6", i+1), fmt.Sprintf("if m <= %d: done", i))
			a.ins("BLT", "reduce")
			for j := range s.nv() {
				d := s.acc(i, j)
				a.insc("FMOVQ", fmt.Sprintf("%d(R9), %s", 16*(i*s.nv()+j), y1lo.F()), fmt.Sprintf("y'[%d][%d:%d]", i, 4*j, 4*j+4))
				a.insc("FMOVQ", fmt.Sprintf("%d(R5), %s", 16*j, lo.F()), fmt.Sprintf("bias[%d:%d]", 4*j, 4*j+4))
				a.word(fcvtl2(y1hi, y1lo))
				a.word(fcvtl(y1lo, y1lo))
				a.word(fcvtl2(hi, lo))
				a.word(fcvtl(lo, lo))
				a.word(faddD2(y1lo, y1lo, lo))
				a.word(faddD2(y1hi, y1hi, hi))
				a.word(fcvtl(lo, d))
				a.word(fcvtl2(hi, d))
				a.insc("VFMLA", fmt.Sprintf("%s, %s, %s", lo.D2(), lo.D2(), dd.D2()), "Σd² += d·d")
				a.ins("VFMLA", fmt.Sprintf("%s, %s, %s", hi.D2(), hi.D2(), dd.D2()))
				a.insc("VFMLA", fmt.Sprintf("%s, %s, %s", y1lo.D2(), y1lo.D2(), y1y1.D2()), "Σy1² += y1·y1")
				a.ins("VFMLA", fmt.Sprintf("%s, %s, %s", y1hi.D2(), y1hi.D2(), y1y1.D2()))
				a.word(faddD2(lo, y1lo, lo))
				a.word(faddD2(hi, y1hi, hi))
				a.insc("VFMLA", fmt.Sprintf("%s, %s, %s", y1lo.D2(), lo.D2(), yy1.D2()), "Σy·y1 += y·y1")
				a.ins("VFMLA", fmt.Sprintf("%s, %s, %s", y1hi.D2(), hi.D2(), yy1.D2()))
				a.insc("VFMLA", fmt.Sprintf("%s, %s, %s", lo.D2(), lo.D2(), yy.D2()), "Σy² += y·y")
				a.ins("VFMLA", fmt.Sprintf("%s, %s, %s", hi.D2(), hi.D2(), yy.D2()))
			}
		}

		a.comment("s[0:4] += the lane sums.")
		a.label("reduce")
		a.word(faddpD2(0, dd, yy1))
		a.word(faddpD2(1, yy, y1y1))
		a.ins("VLD1", "(R7), "+regList(2, 2, vreg.D2))
		a.word(faddD2(2, 2, 0))
		a.word(faddD2(3, 3, 1))
		a.ins("VST1", regList(2, 2, vreg.D2)+", (R7)")
		a.ins("RET", "")
	}
	return f
}

// A gemmVariant is one of the dense product kernels. Both run the same
// product loop and store the same m×n corner of the tile (whole rows, or
// through the scratch tile when n < NR); they differ only in what the sum
// gets before the store.
type gemmVariant struct {
	kind string // the name's prefix: gemm, gemmAcc
	// accumulate: add c's old values, row by row, for a gemmAccFunc; else
	// add bias, for a gemmFunc.
	accumulate bool
}

var (
	gemmSet = gemmVariant{kind: "gemm"}
	gemmAdd = gemmVariant{kind: "gemmAcc", accumulate: true}
)

func gemmKernel(s shape, g gemmVariant) *kernelFunc {
	name := g.kind + "NEON_" + s.tag()
	f := &kernelFunc{
		name: name,
		doc: []string{
			fmt.Sprintf("%s sets the top-left m×n corner of an %d×%d tile of c to a·w + bias", name, s.mr, s.nr),
			"(row i at c[i·ldc]) and writes nothing else: a gemmFunc (kernel.go). Refer to",
			"kernel_generic.go (gemmGeneric, tileProduct) for the reference.",
		},
		comments: []string{
			fmt.Sprintf("Frame: the %d-byte scratch tile, used only when n < %d.", s.tileBytes(), s.nr),
			fmt.Sprintf("Registers: V0–V%d a, V%d–V%d w, V%d–V31 the tile; bias in V0–V%d.",
				s.na()-1, s.wReg(0), s.wReg(s.nv()-1), s.accBase(), s.nv()-1),
		},
		params: []param{{"a", "[]float32"}, {"w", "[]float32"}, {"k", "int"}, {"bias", "[]float32"},
			{"c", "[]float32"}, {"ldc", "int"}, {"m", "int"}, {"n", "int"}},
		frame: s.tileBytes(),
	}
	if g.accumulate {
		f.doc = []string{
			fmt.Sprintf("%s adds a·w to the top-left m×n corner of an %d×%d tile of c (row i", name, s.mr, s.nr),
			"at c[i·ldc]) and reads and writes nothing else: a gemmAccFunc (kernel.go). Refer",
			"to kernel_generic.go (gemmAccGeneric, tileProduct) for the reference.",
		}
		f.comments[1] = fmt.Sprintf("Registers: V0–V%d a, V%d–V%d w, V%d–V31 the tile; a row of c in V0–V%d.",
			s.na()-1, s.wReg(0), s.wReg(s.nv()-1), s.accBase(), s.nv()-1)
		f.params = slices.DeleteFunc(f.params, func(p param) bool { return p.name == "bias" })
	}
	f.body = func(a *asm) {
		a.ins("MOVD", f.arg("a", "base")+", R0")
		a.ins("MOVD", f.arg("w", "base")+", R1")
		a.ins("MOVD", f.arg("k", "")+", R2")
		if !g.accumulate {
			a.ins("MOVD", f.arg("bias", "base")+", R3")
		}
		a.ins("MOVD", f.arg("c", "base")+", R4")
		a.ins("MOVD", f.arg("ldc", "")+", R5")
		a.ins("MOVD", f.arg("m", "")+", R6")
		a.ins("MOVD", f.arg("n", "")+", R7")
		a.insc("LSL", "$2, R5, R5", "R5 = ldc in bytes")

		a.comment("tile = a·w")
		zeroAcc(a, s)
		productLoop(a, s, "loop", "R2", "k", false)

		if !g.accumulate {
			a.comment("tile += bias")
			a.ins("VLD1", "(R3), "+regList(0, s.nv(), vreg.S4))
			for i := range s.mr {
				for j := range s.nv() {
					a.word(faddS4(s.acc(i, j), s.acc(i, j), vreg(j)))
				}
			}
		}
		a.insc("CMP", fmt.Sprintf("$%d, R7", s.nr), fmt.Sprintf("if n < %d: partial", s.nr))
		a.ins("BLT", "partial")

		if g.accumulate {
			a.comment("Full rows: add c's rows i < m to the tile's, and store them.")
		} else {
			a.comment("Full rows: store rows i < m.")
		}
		for i := range s.mr {
			a.insc("CMP", fmt.Sprintf("$%d, R6", i+1), fmt.Sprintf("if m <= %d: done", i))
			a.ins("BLT", "done")
			list := regList(s.acc(i, 0), s.nv(), vreg.S4)
			row := fmt.Sprintf("c[%d·ldc : %d·ldc+%d]", i, i, s.nr)
			if g.accumulate {
				a.insc("VLD1", "(R4), "+regList(0, s.nv(), vreg.S4), row)
				for j := range s.nv() {
					a.word(faddS4(s.acc(i, j), s.acc(i, j), vreg(j)))
				}
			}
			if i+1 < s.mr {
				a.insc("VST1.P", list+", (R4)(R5)", row)
			} else {
				a.insc("VST1", list+", (R4)", row)
			}
		}
		a.ins("RET", "")

		if g.accumulate {
			a.comment("Partial rows: the tile to the frame, then add its m×n corner to c's.")
		} else {
			a.comment("Partial rows: the tile to the frame, then copy its m×n corner.")
		}
		a.label("partial")
		a.ins("MOVD", tileAddr(s)+", R8")
		storeTile(a, s, "R8")
		a.ins("MOVD", tileAddr(s)+", R8")
		copyCorner(a, cornerRegs{tile: "R8", c: "R4", ldc: "R5", m: "R6", n: "R7", src: "R9", dst: "R10", cnt: "R11"},
			s.rowBytes(), g.accumulate)
	}
	return f
}

// peakFlops is the work of one peakNEON iteration.
func (s shape) peakFlops() int { return 2 * s.mr * s.nr }

// minPeakChains is the independent fmla chains the peak loop needs to
// keep the widest arm64 cores busy: 4 FMA pipes × 4-cycle latency
// (Neoverse V1/V2, Apple M1).
const minPeakChains = 16

func peakKernel(s shape) *kernelFunc {
	if s.mr*s.nv() < minPeakChains {
		panic(fmt.Sprintf("peakNEON: %d chains, want at least %d", s.mr*s.nv(), minPeakChains))
	}
	f := &kernelFunc{
		name: "peakNEON",
		doc: []string{
			fmt.Sprintf("peakNEON runs n iterations of the %d×%d kernels' inner loop without its loads:", s.mr, s.nr),
			fmt.Sprintf("%d independent fmla by element on registers only, %d flops an iteration.",
				s.mr*s.nv(), s.peakFlops()),
			"It has no generic twin; refer to kernel_generic.go for what the kernels compute.",
		},
		comments: []string{fmt.Sprintf("%d flops an iteration.", s.peakFlops())},
		params:   []param{{"n", "int"}},
	}
	f.body = func(a *asm) {
		a.ins("MOVD", f.arg("n", "")+", R0")
		for v := vreg(0); v < vreg(s.na()+s.nv()); v++ {
			a.ins("VEOR", fmt.Sprintf("%s, %s, %s", v.B16(), v.B16(), v.B16()))
		}
		zeroAcc(a, s)
		a.insc("CMP", "$1, R0", "if n < 1: done")
		a.ins("BLT", "done")
		a.label("loop")
		fmaTile(a, s)
		a.ins("SUBS", "$1, R0, R0")
		a.ins("BNE", "loop")
		a.label("done")
		a.ins("RET", "")
	}
	return f
}
