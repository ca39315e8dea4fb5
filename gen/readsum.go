package main

import "fmt"

// readBlock is the float32 elements one iteration of readSumNEON reads (512
// bytes): the contract's length unit, the same for every ISA (kernel.go).
const readBlock = 128

// readSumKernel is readSumNEON, the readSumFunc (kernel.go; the reference
// is readSumGeneric in kernel_generic.go): the float32 sum of x, len(x) a
// multiple of readBlock, to measure how fast a core streams memory. An
// iteration is two rounds of four VLD1.P of four registers (256 bytes into
// V0–V15) and sixteen fadd .4s into accs accumulators at the top of the
// register file, so the adds form accs independent chains. The sum lets the
// tests check that every element was read once.
func readSumKernel(accs int) *kernelFunc {
	const loads = 16 // registers one round loads
	if accs < 2 || accs&(accs-1) != 0 || loads%accs != 0 || loads+accs > 32 {
		panic(fmt.Sprintf("readSumNEON: %d accumulators", accs))
	}
	accBase := vreg(32 - accs)
	f := &kernelFunc{
		name: "readSumNEON",
		doc: []string{
			fmt.Sprintf("readSumNEON returns the float32 sum of x, len(x) a multiple of %d, read with", readBlock),
			fmt.Sprintf("VLD1 into %d independent accumulators. It implements readSumFunc", accs),
			"(kernel.go); refer to readSumGeneric in kernel_generic.go.",
		},
		comments: []string{
			fmt.Sprintf("Registers: V0–V15 loaded, V%d–V31 the %d sums; R0 x, R1 blocks.", accBase, accs),
		},
		params:  []param{{"x", "[]float32"}},
		results: []param{{"", "float32"}},
	}
	f.body = func(a *asm) {
		a.ins("MOVD", f.arg("x", "base")+", R0")
		a.ins("MOVD", f.arg("x", "len")+", R1")
		for i := range accs {
			v := accBase + vreg(i)
			a.ins("VEOR", fmt.Sprintf("%s, %s, %s", v.B16(), v.B16(), v.B16()))
		}
		a.comment("Blocks of %d elements, two rounds of %d registers.", readBlock, loads)
		a.insc("LSR", "$7, R1, R1", "len / readBlock")
		a.ins("CBZ", "R1, reduce")
		a.label("loop")
		for range readBlock / 4 / loads {
			for g := range loads / 4 {
				a.ins("VLD1.P", fmt.Sprintf("64(R0), %s", regList(vreg(4*g), 4, vreg.S4)))
			}
			for i := range loads {
				d := accBase + vreg(i%accs)
				a.word(faddS4(d, d, vreg(i)))
			}
		}
		a.ins("SUBS", "$1, R1, R1")
		a.ins("BNE", "loop")

		a.comment("Sum the accumulators pairwise, then the four lanes.")
		a.label("reduce")
		foldTree(a, accBase, accs, faddS4)
		s := accBase
		a.word(faddpS4(s, s, s))
		a.word(faddpS4(s, s, s))
		a.ins("FMOVS", fmt.Sprintf("%s, %s", s.F(), f.arg("ret", "")))
		a.ins("RET", "")
	}
	return f
}

// foldTree adds the n accumulators from first on (n a power of two) into
// first with add, halving: first+i += first+i+h for h = n/2, n/4, …, 1, a
// tree, so the chains stay independent to the end.
func foldTree(a *asm, first vreg, n int, add func(d, n, m vreg) word) {
	for h := n / 2; h >= 1; h /= 2 {
		for i := range h {
			d := first + vreg(i)
			a.word(add(d, d, d+vreg(h)))
		}
	}
}
