//go:generate go run . -out ../kernel_arm64.s -stubs ../kernel_arm64.go -table ../kernel_table_arm64.go -mca ../testdata/mca

// Command gen writes the NEON kernels of package chanprune, kernel_arm64.s,
// their Go declarations, kernel_arm64.go, and the kernel table,
// kernel_table_arm64.go (table.go), in one run so the three cannot drift.
// avo has no arm64 back end, so this is a small generator of its own; its
// one dependency, asmfmt (pinned in go.mod), lays out the assembly, so the
// output depends only on its source and that version.
//
// # Algorithm
//
// The kernels are outer-product micro-kernels over an MR×NR register tile
// (MR tokens × NR outputs), the Go equivalents being tileProduct,
// evalGeneric, gemmGeneric and gemmAccGeneric in kernel_generic.go. For each
// packed row p the MR activations a[p·MR : p·MR+MR] are loaded into MR/4
// registers and the NR weights of the row into NR/4 registers; every
// accumulator (row i, vector j) then gets one fused multiply-add by element,
//
//	acc[i][j] += w_j · a[i/4].s[i%4]     (fmla vd.4s, vn.4s, vm.s[lane])
//
// so each output is summed sequentially over p with one rounding per step,
// the order and rounding of tileProduct (Go fuses acc += x*y into FMADDS on
// arm64): on the same inputs the float32 tiles agree bit for bit.
//
//   - evalNEON: the kept rows [0, nk) give y' and go to a 384-byte scratch
//     tile in the frame; the accumulators are cleared and the pruned rows
//     [nk, k) give d, which stays in registers. For rows i < m the epilogue
//     widens to float64 (fcvtl, fcvtl2), forms y1 = y' + bias, y = y1 + d and
//     accumulates d·d, y·y1, y·y and y1·y1 in four .2d registers (fmla .2d),
//     then adds the pairwise sums (faddp) into s[0..3]. The row w[idx[p]] is
//     found from the int32 index each step (column skipping).
//   - gemmNEON: the weight rows are contiguous; bias is added in float32
//     (fadd .4s) and the tile stored row by row for i < m. When n < NR the
//     tile goes to the scratch tile and a scalar loop copies the m×n corner,
//     so nothing past c[(m-1)·ldc + n-1] is written.
//   - gemmAccNEON (gemmAccFunc, the later K blocks of a blocked product):
//     gemmNEON with another epilogue, the same product loop and the same
//     two ways to store, but instead of bias c's old values are added: for
//     whole rows each row of c is loaded (VLD1) and added (fadd .4s) before
//     the store, for n < NR the scalar copy becomes load, fadds, store.
//   - peakNEON: the loop body of the kernels without the loads, to measure
//     the machine's fmla throughput.
//   - readSumNEON (readSumFunc, readsum.go): VLD1 of four registers and
//     fadd .4s into 8 accumulators, for MeasureBandwidth.
//   - lowerSplitNEON (lowerSplitFunc, the sweep's split of a row segment
//     of H⊙G, lowersplit.go): SumVecs vectors of h, g and rank a step;
//     fmul .4s forms m = h·g, cmgt below > rank gives a mask, sxtl/sxtl2
//     widen it to .2d and fcvtl/fcvtl2 widen m; the row's 2·SumVecs
//     accumulators take m ANDed with the mask (fadd .2d), the column takes
//     m (fadd .2d on the loaded entries) except where the mask puts the
//     loaded entries back (bit), and is stored whole. Whole vectors left
//     go one at a time, then after the pairwise reduction (fadd, faddp)
//     the last len mod 4 entries one by one (scalar fcvt, fadd), so
//     nothing at or past len(h) is read or written.
//   - contractNEON (contractFunc, the Gram path's H⊙G row contraction,
//     contract.go): 8 entries of h, g, mask and the diagonals an
//     iteration, widened group by group (fcvtl, fcvtl2), the products in
//     .2d (fmul, fmla) and the four sums in two sets of accumulators; the
//     last len mod 8 entries one by one in scalar float64.
//   - contractSplitNEON (contractSplitFunc, contract.go): contractNEON's v
//     and w in the same order, unmasked, into two sets of Σv, Σw, and
//     added to 8 entries of colV and colW an iteration (VLD1, fadd .2d,
//     VST1); the caller does the last len mod 8 entries.
//   - dot4NEON and axpy4NEON (dot4Func, axpy4Func, solve.go: the float64
//     inner loops of a lstsq repair's Cholesky factor and solves): four
//     right-hand sides at once, 8 entries of each an iteration in four .2d
//     registers; dot4 keeps dot64's eight partials per right-hand side in
//     sixteen fmla .2d chains, reduces them in dot64's order (fadd .2d,
//     faddp) and takes the last len mod 8 entries by scalar fmadd; axpy4
//     broadcasts s[k] (ld1r) and updates y_k with fmla .2d, then pairs,
//     then an odd entry by fmadd. Both match the generic ones bit for bit.
//   - widenAddNEON (widenAddFunc, widenadd.go: a fit set's Gram strips
//     into its float64 Σ xᵀx): 8 entries of src a step, widened exactly
//     (fcvtl, fcvtl2) and added to dst's (VLD1, fadd .2d, VST1.P); the
//     last len mod 8 entries one by one (fcvt, fadd). One rounding an
//     entry, so it matches the generic one bit for bit.
//
// # Layout
//
// a: k rows of MR float32 (packActivations); w: rows of NR float32
// (packWeight), row c at w[c·NR]; bias: NR float32; s: [4]float64
// (Σd², Σy·y', Σy², Σy'² at offsets 0, 8, 16, 24); c: row i at c[i·ldc].
// The scratch tile is MR×NR float32, row-major, at the bottom of the frame.
//
// # Register budget (MR=8, NR=12)
//
//	V0–V1    a[p·8 : p·8+8], two rows of lanes for fmla by element
//	V2–V4    w row (12 float32)
//	V0–V2    after the loop: bias (gemm) or a row of c (gemmAcc)
//	V5–V7    free in the loop
//	V8–V31   the 8×12 accumulator tile: row i, vector j in V(8 + 3i + j)
//	epilogue V0–V3 temporaries, V4–V7 the float64 sums dd, yy1, yy, y1y1
//	R0–R12   pointers and counters; R18, R26–R30 are never touched
//
// lowerSplitNEON (SumVecs = 4): V0 below; V1–V4 h, then m; V5–V8 g, then
// the low halves the row takes; V9–V12 rank, then the mask, then the high
// halves; V13–V18 one vector's masks, widened m and column (.2d); V24–V31
// eight .2d sums; R0–R7 pointers, len, below, count. Its speed has not been
// measured on arm64 hardware (qemu timings mean nothing): eight independent
// fadd chains cover a 4-cycle fadd latency at two fadds a cycle.
//
// readSumNEON (ReadSums = 8): V0–V15 loaded (four VLD1.P of four
// registers a round), V24–V31 the .4s sums; R0 x, R1 blocks. Eight chains
// cover a 4-cycle fadd latency at two fadds a cycle, so the loads limit it.
//
// Only base ASIMD is used, so the kernels run on every arm64 CPU (Cortex-A53
// included). Instructions Go's assembler lacks (fmla by element, fadd, fmul,
// faddp, fcvtl, fcvtl2, cmgt, sxtl, sxtl2) are emitted as WORD with the mnemonic beside them.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
)

// The tile shape of the NEON kernels, and the vectors of 4 entries that
// one iteration of lowerSplitNEON loads (of h, g and rank each), and the
// accumulators of readSumNEON.
const (
	MR = 8
	NR = 12

	SumVecs  = 4
	ReadSums = 8
)

const buildConstraint = "!purego && !noasm && gc"

func main() {
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	out := flag.String("out", "", "assembly output file")
	stubs := flag.String("stubs", "", "Go declarations output file")
	table := flag.String("table", "", "kernel table output file")
	mca := flag.String("mca", "", "folder for the llvm-mca inputs (neon_eval.s, ...), if any")
	flag.Parse()
	if *out == "" || *stubs == "" || *table == "" || flag.NArg() != 0 {
		log.Fatal("usage: gen -out FILE.s -stubs FILE.go -table FILE.go [-mca DIR]")
	}
	header := fmt.Sprintf("Code generated by command: go run . -out %s -stubs %s -table %s. DO NOT EDIT.", *out, *stubs, *table)

	sh := shape{MR, NR}
	if err := sh.validate(); err != nil {
		log.Fatal(err)
	}
	k := neonKernel{
		eval: evalKernel(sh), gemm: gemmKernel(sh, gemmSet), gemmAcc: gemmKernel(sh, gemmAdd),
		peak: peakKernel(sh), lowerSplit: lowerSplitKernel(SumVecs), readSum: readSumKernel(ReadSums),
		contract: contractKernel(), contractSplit: contractSplitKernel(),
		dot4: dot4Kernel(), axpy4: axpy4Kernel(), widenAdd: widenAddKernel(),
	}
	k.gemv = gemvKernels()
	funcs := []*kernelFunc{k.eval, k.gemm, k.gemmAcc, k.peak, k.lowerSplit, k.readSum, k.contract, k.contractSplit, k.dot4, k.axpy4, k.widenAdd}
	for _, kind := range []string{"gemv", "gemvBF16", "gemvF16", "widenBF16", "widenF16"} {
		funcs = append(funcs, k.gemv[kind]...)
	}

	s, err := genAsm(header, funcs)
	if err != nil {
		log.Fatal(err)
	}
	g, err := genStubs(header, "chanprune", funcs)
	if err != nil {
		log.Fatal(err)
	}
	t, err := genTable(header, sh, k)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range []struct {
		path string
		src  []byte
	}{{*out, s}, {*stubs, g}, {*table, t}} {
		if err := os.WriteFile(f.path, f.src, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *mca == "" {
		return
	}
	// gemmAcc runs gemm's loop; lowerSplit and the contracts are not FMA kernels.
	for _, l := range []struct {
		kind string
		f    *kernelFunc
	}{{"eval", k.eval}, {"gemm", k.gemm}, {"peak", k.peak}} {
		b, err := mcaLoop(l.f, "neon-"+l.kind)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*mca, "neon_"+l.kind+".s"), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

func genAsm(header string, funcs []*kernelFunc) ([]byte, error) {
	var a asm
	a.comment("%s", header)
	a.blank()
	a.comment("go:build %s", buildConstraint)
	a.blank()
	a.ins("#include", `"textflag.h"`)
	for _, f := range funcs {
		a.blank()
		f.emit(&a)
	}
	return a.format()
}

func genStubs(header, pkg string, funcs []*kernelFunc) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// %s\n\n//go:build %s\n\npackage %s\n", header, buildConstraint, pkg)
	for _, f := range funcs {
		b.WriteString("\n")
		for _, l := range f.doc {
			if l == "" {
				b.WriteString("//\n")
			} else {
				fmt.Fprintf(&b, "// %s\n", l)
			}
		}
		fmt.Fprintf(&b, "//\n//go:noescape\nfunc %s(%s)%s\n", f.name, f.goParams(), f.goResults())
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting stubs: %v\n%s", err, b.Bytes())
	}
	return src, nil
}
