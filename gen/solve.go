package main

import "fmt"

// The float64 kernels of a lstsq repair's Cholesky factor and solves
// (compensate_solve.go): dot4NEON and axpy4NEON. Both keep the library's
// arithmetic exactly (kernel.go), so they agree with dot4Generic and
// axpy4Generic bit for bit.

// solveBlock is the entries of a dot4Func's partial sums: one iteration
// of dot4NEON, four .2d registers of each vector.
const solveBlock = 8

// dot4Kernel is dot4NEON, the dot4Func (kernel.go; the reference is
// dot4Generic in compensate_solve.go): s[k] = a·b_k over len(a) entries.
// Right-hand side k keeps its eight partial sums p[0..7] in four .2d
// registers, acc(k, j) = [p[2j], p[2j+1]]; an iteration loads 8 entries
// of a and of each b_k (VLD1.P of four registers) and adds entry 8m+l into
// p[l] with one fmla .2d (fused, as dot64's math.FMA), sixteen independent
// chains. The reduction is dot64's: acc(k, 0) += acc(k, 2) and acc(k, 1) +=
// acc(k, 3) give p[l] + p[l+4], acc(k, 0) += acc(k, 1) gives [p0+p2, p1+p3],
// and faddp adds its two lanes. The last len mod 8 entries go one by one,
// a fused fmadd each into that sum, so nothing at or past len(a) is read.
func dot4Kernel() *kernelFunc {
	const (
		loadA = vreg(0)  // V0–V3: a[i : i+8]
		loadB = vreg(4)  // V4–V7, V8–V11: b_k[i : i+8], k even and odd
		accs  = vreg(16) // V16+4k … V19+4k: right-hand side k's partials
	)
	acc := func(k, j int) vreg { return accs + vreg(4*k+j) }
	bPtr := func(k int) string { return fmt.Sprintf("R%d", 1+k) }
	f := &kernelFunc{
		name: "dot4NEON",
		doc: []string{
			"dot4NEON sets s[k] to the dot product of a and b_k over len(a) entries, summed",
			"as dot64 sums (eight partials of fused multiply-adds over blocks of 8, added",
			"pairwise, then the rest one by one): a dot4Func (kernel.go). Refer to",
			"dot4Generic in compensate_solve.go for the reference.",
		},
		comments: []string{
			"Registers: V0–V3 a, V4–V11 b_k, V16–V31 the partial sums (four a right-hand",
			"side); R0 a, R1–R4 b_k, R5 len, R6 s, R7 count.",
		},
		params: []param{{"a", "[]float64"}, {"b0", "[]float64"}, {"b1", "[]float64"},
			{"b2", "[]float64"}, {"b3", "[]float64"}, {"s", "*[4]float64"}},
	}
	f.body = func(a *asm) {
		a.ins("MOVD", f.arg("a", "base")+", R0")
		for k := range 4 {
			a.ins("MOVD", fmt.Sprintf("%s, %s", f.arg(fmt.Sprintf("b%d", k), "base"), bPtr(k)))
		}
		a.ins("MOVD", f.arg("a", "len")+", R5")
		a.ins("MOVD", f.arg("s", "")+", R6")
		for v := accs; v < accs+16; v++ {
			a.ins("VEOR", fmt.Sprintf("%s, %s, %s", v.B16(), v.B16(), v.B16()))
		}
		a.comment("Blocks of %d entries.", solveBlock)
		a.insc("LSR", "$3, R5, R7", "len / 8")
		a.ins("CBZ", "R7, reduce")
		countedLoop(a, "loop", "R7", func() {
			a.insc("VLD1.P", fmt.Sprintf("64(R0), %s", regList(loadA, 4, vreg.D2)), "a[i : i+8]")
			for k := range 4 {
				b := loadB + vreg(4*(k%2))
				a.insc("VLD1.P", fmt.Sprintf("64(%s), %s", bPtr(k), regList(b, 4, vreg.D2)), fmt.Sprintf("b%d[i : i+8]", k))
				for j := range 4 {
					a.ins("VFMLA", fmt.Sprintf("%s, %s, %s", (b+vreg(j)).D2(), (loadA+vreg(j)).D2(), acc(k, j).D2()))
				}
			}
		})

		a.comment("p[l] += p[l+4]; then (p0+p2, p1+p3); then their sum, into lane 0.")
		a.label("reduce")
		for k := range 4 {
			a.word(faddD2(acc(k, 0), acc(k, 0), acc(k, 2)))
			a.word(faddD2(acc(k, 1), acc(k, 1), acc(k, 3)))
		}
		for k := range 4 {
			a.word(faddD2(acc(k, 0), acc(k, 0), acc(k, 1)))
		}
		for k := range 4 {
			a.word(faddpD(acc(k, 0), acc(k, 0)))
		}

		a.comment("The last len mod 8 entries, one by one.")
		a.ins("AND", "$7, R5, R5")
		a.ins("CBZ", "R5, store")
		countedLoop(a, "tail", "R5", func() {
			a.insc("FMOVD.P", "8(R0), F0", "a[i]")
			for k := range 4 {
				b, s := (loadB + vreg(k)).F(), acc(k, 0).F()
				a.insc("FMOVD.P", fmt.Sprintf("8(%s), %s", bPtr(k), b), fmt.Sprintf("b%d[i]", k))
				a.insc("FMADDD", fmt.Sprintf("%s, %s, F0, %s", b, s, s), fmt.Sprintf("s%d = a[i]·b%d[i] + s%d, one rounding", k, k, k))
			}
		})
		a.label("store")
		for k := range 4 {
			a.ins("FMOVD", fmt.Sprintf("%s, %d(R6)", acc(k, 0).F(), 8*k))
		}
		a.ins("RET", "")
	}
	return f
}

// axpy4Kernel is axpy4NEON, the axpy4Func (kernel.go; the reference is
// axpy4Generic in compensate_solve.go): y_k[j] = fma(s[k], x[j], y_k[j])
// for j < len(x). s[k] is broadcast (ld1r) into a register of its own; an
// iteration loads 8 entries of x and of each y_k (VLD1 of four registers),
// adds s[k]·x with fmla .2d (one rounding an entry) and stores y_k's
// entries back; then the whole pairs left go one register at a time, and
// an odd last entry goes through the scalar fmadd. Nothing at or past
// len(x) is read or written.
func axpy4Kernel() *kernelFunc {
	const (
		loadX = vreg(0)  // V0–V3: x[j : j+8]
		scale = vreg(4)  // V4–V7: s[k] in both lanes
		ys    = vreg(16) // V16+4k … V19+4k: y_k[j : j+8]
	)
	y := func(k, j int) vreg { return ys + vreg(4*k+j) }
	yPtr := func(k int) string { return fmt.Sprintf("R%d", 3+k) }
	f := &kernelFunc{
		name: "axpy4NEON",
		doc: []string{
			"axpy4NEON adds s[k]·x to y_k, entry by entry with one rounding (a fused",
			"multiply-add), for k < 4 and the first len(x) entries: an axpy4Func",
			"(kernel.go). Refer to axpy4Generic in compensate_solve.go for the reference.",
		},
		comments: []string{
			"Registers: V0–V3 x, V4–V7 s[k] broadcast, V16–V31 y_k (four a right-hand",
			"side); R0 x, R1 len, R2 s, R3–R6 y_k, R7 count.",
		},
		params: []param{{"x", "[]float64"}, {"s", "*[4]float64"}, {"y0", "[]float64"},
			{"y1", "[]float64"}, {"y2", "[]float64"}, {"y3", "[]float64"}},
	}
	// step emits the update of the next n registers (1 or 4) of each y_k.
	step := func(a *asm, n int) {
		bytes := 16 * n
		a.insc("VLD1.P", fmt.Sprintf("%d(R0), %s", bytes, regList(loadX, n, vreg.D2)), fmt.Sprintf("x[j : j+%d]", 2*n))
		for k := range 4 {
			a.insc("VLD1", fmt.Sprintf("(%s), %s", yPtr(k), regList(y(k, 0), n, vreg.D2)), fmt.Sprintf("y%d[j : j+%d]", k, 2*n))
		}
		for k := range 4 {
			for j := range n {
				a.ins("VFMLA", fmt.Sprintf("%s, %s, %s", (scale+vreg(k)).D2(), (loadX+vreg(j)).D2(), y(k, j).D2()))
			}
		}
		for k := range 4 {
			a.ins("VST1.P", fmt.Sprintf("%s, %d(%s)", regList(y(k, 0), n, vreg.D2), bytes, yPtr(k)))
		}
	}
	f.body = func(a *asm) {
		a.ins("MOVD", f.arg("x", "base")+", R0")
		a.ins("MOVD", f.arg("x", "len")+", R1")
		a.ins("MOVD", f.arg("s", "")+", R2")
		for k := range 4 {
			a.ins("MOVD", fmt.Sprintf("%s, %s", f.arg(fmt.Sprintf("y%d", k), "base"), yPtr(k)))
		}
		for k := range 4 {
			a.insc("VLD1R.P", fmt.Sprintf("8(R2), [%s]", (scale+vreg(k)).D2()), fmt.Sprintf("s[%d], both lanes", k))
		}
		a.comment("Blocks of %d entries.", solveBlock)
		a.insc("LSR", "$3, R1, R7", "len / 8")
		a.ins("CBZ", "R7, pairs")
		countedLoop(a, "loop", "R7", func() { step(a, 4) })

		a.comment("Whole pairs left: (len mod 8) / 2.")
		a.label("pairs")
		a.ins("AND", "$7, R1, R7")
		a.ins("LSR", "$1, R7, R7")
		a.ins("CBZ", "R7, last")
		countedLoop(a, "pair", "R7", func() { step(a, 1) })

		a.comment("An odd last entry.")
		a.label("last")
		a.ins("TBZ", "$0, R1, done")
		a.insc("FMOVD", "(R0), F0", "x[j]")
		for k := range 4 {
			v, s := y(k, 0).F(), (scale + vreg(k)).F()
			a.insc("FMOVD", fmt.Sprintf("(%s), %s", yPtr(k), v), fmt.Sprintf("y%d[j]", k))
			a.insc("FMADDD", fmt.Sprintf("F0, %s, %s, %s", v, s, v), fmt.Sprintf("y%d[j] += s[%d]·x[j], one rounding", k, k))
			a.ins("FMOVD", fmt.Sprintf("%s, (%s)", v, yPtr(k)))
		}
		a.label("done")
		a.ins("RET", "")
	}
	return f
}

// countedLoop emits a loop at label: body, then count (a register, at
// least 1 on entry) decremented and a branch back while it is not zero.
func countedLoop(a *asm, label, count string, body func()) {
	a.label(label)
	body()
	a.ins("SUBS", fmt.Sprintf("$1, %s, %s", count, count))
	a.ins("BNE", label)
}
