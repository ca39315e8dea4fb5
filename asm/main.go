//go:generate go run . -out ../kernel_amd64.s -stubs ../kernel_amd64.go -table ../kernel_table_amd64.go -pkg chanprune -mca ../testdata/mca

// Command asm generates kernel_amd64.s, its Go declarations
// kernel_amd64.go and the kernel table kernel_table_amd64.go (table.go) for
// package chanprune with avo. Run `go generate` in this
// folder; the output is deterministic and committed.
//
// # Algorithm and layout
//
// The Go reference for every kernel here is kernel_generic.go; kernel.go
// states the contracts (evalFunc, gemmFunc, gemmAccFunc, lowerSplitFunc, ...). A
// kernel owns one register tile of MR tokens × NR outputs. The activations
// come packed in panels of MR (row p of a holds the MR tokens' values of
// channel idx[p], kept channels first), the weight in panels of NR (row c
// holds W[o, c] for the NR outputs), so one step of the K loop is: load the
// NR floats of w's row (NR/lanes vector loads), then for each of the MR
// rows broadcast a[p·MR+i] (VBROADCASTSS) and do NR/lanes FMAs into that
// row's accumulators.
//
//   - eval (evalFunc) runs the K loop over the kept range [0, nk) to get y',
//     spills the tile to a scratch tile in its frame, runs it again over the
//     pruned range [nk, k) to get d, spills that, then widens both to
//     float64 row by row (rows < m), adds bias to y' and accumulates Σd²,
//     Σy·y', Σy², Σy'² (y = y'+d) in vector registers, reduces them
//     horizontally and adds them to *s.
//   - gemm (gemmFunc) runs the K loop over contiguous rows of w, adds bias
//     and stores rows < m with stride ldc, columns < n only: K masks for
//     AVX-512, VMASKMOVPS with masks from a −1/0 table for AVX2.
//   - gemmAcc (gemmAccFunc, the later K blocks of a blocked product) is
//     gemm with another epilogue: the same K loop, then instead of bias the
//     tile's old values, loaded under the same masks (VMOVUPS.Z with the K
//     masks for AVX-512; VADDPS from memory for whole rows and VMASKMOVPS
//     loads for a column tail for AVX2), are added before the store.
//   - peak runs independent register-only FMAs to measure the limit.
//   - readSum (readSumFunc) sums a buffer with full-width loads, each into
//     one of 8 accumulators, for MeasureBandwidth (readsum.go).
//   - lowerSplit (lowerSplitFunc, the sweep's split of a row segment of
//     H⊙G) forms m = h[j]·g[j] (VMULPS), widens it and adds it to the
//     row's float64 accumulators where rank[j] < below and to col[j]
//     elsewhere: AVX2 compares rank (widened, VCVTDQ2PD) with below in
//     float64 lanes (VCMPPD), ANDs m for the row and blends col back
//     (VBLENDVPD) where the row takes m, 4 a step; AVX-512 compares into
//     K (VPCMPGTD, KNOTW for the complement), 16 a block, and adds each
//     widened half under the mask to an accumulator and under the
//     complement to col (merge masking). Tails: whole steps or blocks,
//     then AVX2 does the last len mod 4 one by one and AVX-512 one block
//     under a count mask with masked loads and stores (lowersplit.go).
//   - lowerSplitSets (lowerSplitSetsFunc, lowerSplit for all the sweep's
//     score sets in one pass) forms and widens m once a step, adds it to
//     the row's total and splits it for up to 5 (AVX2) or 8 (AVX-512) sets
//     a pass, each set's column-side sum in a register (its row sum is
//     the total less that) and its below in one too (AVX-512) or in the
//     frame (AVX2); AVX2 compares the int32 ranks
//     (VPCMPGTD), widens the mask (VPMOVSXDQ) and adds m blended with −0
//     to the columns and the sum, 8 a step; AVX-512 compares into the
//     column side's K mask (VPCMPD) and adds under it, 16 a step. More
//     sets go in passes of one generated body per chunk size; the last
//     len mod step entries are one step under a count mask
//     (lowersplitsets.go).
//   - contract (contractFunc, the Gram path's H⊙G row contraction) widens
//     h, g, mask and the diagonals with VCVTPS2PD from memory and sums
//     h·g and the rounding-error proxies, plain and masked, in float64
//     (contract.go); lengths are whole blocks of 8, the caller does the rest.
//   - contractSplit (contractSplitFunc, the sweep's contraction of the
//     upper triangle's rows) forms the same v = h·g and proxy w in the same
//     order, sums them unmasked and adds them to colV and colW (VADDPD
//     from memory, full stores); lengths as for contract (contract.go).
//   - sweepSplit (sweepSplitFunc, contractSplit then lowerSplitSets of
//     one row segment) does both in one pass: its first pass over the row
//     carries contractSplit's v and w (the same operations in the same
//     order) with up to 5 (AVX2) or 8 (AVX-512) sets, the other sets go
//     in lowerSplitSets' passes; a step is lowerSplitSets', and the last
//     len mod step entries are one step under a count mask for the
//     contract part too (masked widening loads and column loads and
//     stores), so any length is done in the kernel (sweepsplit.go).
//   - dot4 and axpy4 (dot4Func, axpy4Func: the float64 solves of a lstsq
//     repair) follow the generic arithmetic exactly: dot4's eight partials
//     per right-hand side are one ZMM or two YMM, folded as the contract
//     adds them, the rest fused one by one; axpy4 fuses entry by entry
//     (solve64.go).
//   - widenAdd (widenAddFunc, a Gram strip added into the float64 Σ xᵀx of
//     a fit set) widens from memory (VCVTPS2PD) and adds dst from memory,
//     two registers a step, the rest one by one (widenadd.go).
//   - packGram (packGramFunc, a row of a Gram block into its mr- and
//     nr-channel panels) moves each whole panel with whole vectors and,
//     for the rest of its width, one load and store under a K mask
//     (AVX-512) or an XMM, MOVQ and MOVL (AVX2) (packgram.go).
//   - columnSums (columnSumsFunc, a Gram panel's per-channel Σx and Σx²)
//     keeps a lane per channel in registers over the panel's rows: widen,
//     add, square, add, in row order (colsums.go).
//   - moveAdd (moveAddFunc, a sweep band's column sums moved into the
//     channels') adds two registers a step from memory, stores the sums
//     and a zero register, the rest one by one (moveadd.go).
//   - packRows (packRowsFunc, up to 8 rows of a direct row panel, their
//     columns in perm's order) is scalar: a row start a general register,
//     a load and a store a value, one loop per row count (packrows.go).
//
// # Register budgets
//
//	AVX2   6×16:  12 accumulators + 2 w + 1 broadcast = 15 of 16 YMM
//	AVX512 14×32: 28 accumulators + 2 w + 1 broadcast = 31 of 32 ZMM
//	tails: AVX2 4×16 (8 + 2 + 1 = 11 YMM), AVX512 8×32 (16 + 2 + 1 = 19 ZMM)
//	eval epilogue (both): NR/(lanes/2) = 4 bias + 2×4 float64 sums +
//	3 temporaries = 15 registers; the sums reuse accumulator registers
//	lowerSplit AVX2:   4 accumulators + below + 3 temporaries = 8 YMM
//	lowerSplit AVX512: 4 accumulators + below + 3 temporaries = 8 ZMM, 4 K
//	                   (6 K in the tail)
//	lowerSplitSets AVX2 (k ≤ 5 sets):   k accumulators + total + 2 m +
//	                   4 temporaries = k+7 YMM (3 more in the last step),
//	                   the belows in the frame, −0 and the VPERMD indices
//	                   in registers in the steps (hold)
//	lowerSplitSets AVX512 (k ≤ 8 sets): k below + k accumulators + total +
//	                   5 temporaries = 2k+6 ZMM, 2 K (4 in the last step)
//	contract (both): 4 sums + fg, fh + 6 temporaries
//	contractSplit (both): 2 sums + fg, fh + 4 temporaries
//	sweepSplit: a pass with the contract is lowerSplitSets' for its k sets
//	           plus 2 sums + fg, fh and contractSplit's temporaries; AVX2
//	           takes fg and fh from the frame in the last step, holds
//	           them, −0 and the VPERMD indices in the steps:
//	           5 + 1 + 2 + 4 + 4 = 16 YMM
//
// Each K step does MR·NR/lanes FMAs for NR/lanes + MR loads: the tile must
// give the accumulators enough independent chains to cover the FMA latency
// on both FMA ports (4 cycles × 2 = 8 at least), and enough FMAs per load
// that the loads (2-3 a cycle) never limit the FMA ports.
//
// # Why these shapes
//
// 6×16 (AVX2) and 14×32 (AVX-512) reach about 0.9 and 0.96 of the FMA peak
// as eval and more as gemm, measured against the peak kernel on the same
// core. Wider AVX2 tiles lose in eval (a 96-byte row needs an IMUL for its
// address and the epilogue fits only one set of sums); the AVX-512 shapes
// tie, and 14×32 loads the fewest bytes per flop, which matters once the
// panels come from L2 or beyond. Unrolling the K loop changed nothing in
// itself; unroll is 2 so that eval's prefetch of the next weight panel
// (direct.go, prefetchStep) costs one prefetch and one LEAQ every two
// steps: one a step took the AVX2 eval loop from 0.92 to 0.85 of the
// peak loop on llvm-mca's Haswell (4 µops a cycle) and AVX-512's from
// 1.00 to 0.93 on Skylake-X; every two steps they model at 0.96 and
// 1.00 (TestMCA). lowerSum, which lowerSplit replaced, was bound by the vector
// ports, not by add latency, with 4 accumulators; lowerSplit adds column
// loads and stores on top, so 4 still suffice. The measurements are in the
// commit history.
//
// Each instruction set also has a tail tile of fewer rows and the same NR
// (eval, gemm and gemmAcc only), which the library runs on a batch's last
// rows where whole MR panels would pad them: 128 tokens, the usual batch,
// are 8×14 + 2×8 rows (AVX-512) and 20×6 + 2×4 (AVX2) with no padding,
// against 140 and 132 rows of work. 8 rows keep 16 accumulators, enough
// chains for two FMA pipes; on one Zen 4 core 8×32 eval runs at the same
// fraction of the peak as 14×32 (0.99 at K = 1024) and 4×16 at 0.88 (6×16:
// 0.96).
package main

import (
	"flag"
	"os"
	"strings"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/buildtags"
	"github.com/mmcloughlin/avo/pass"
)

// shapes lists the register tiles generated for each instruction set, and
// the accumulators of its lowerSplit.
var shapes = []struct {
	isa    *isa
	mr, nr int
	unroll int // K steps per loop iteration
	// bcasts rows get a[i] by VBROADCASTSS (tile.go), the rest by {1to16}
	// FMA operands. AVX-512: 6 of 14 and all 8 of the tail; on a Zen 5
	// (2-vCPU EPYC VM) 6 and 8 took 0.98 of Evaluate's time with 3 and 2
	// (5 alternating rounds, seed and down), as 14 and 8 did, but llvm-mca's
	// znver4 model puts each VBROADCASTSS on an FMA pipe and predicts 0.67
	// for 14; for 6 it predicts 0.90 (TestMCA's floor).
	bcasts int
	// The tail tile: tailMR rows (its bcasts tailBcasts) by the same nr,
	// for the rows of a batch that whole mr panels would pad (rowLayout in
	// pack.go): 128 tokens are 8 panels of 14 and 2 of 8 rather than 10 of
	// 14 (140 rows, 9% of the work on padding).
	tailMR, tailBcasts int
	chains             int // FMA chains of the peak kernel
	sums               int // float64 accumulators of lowerSplit
	sets               int // score sets a pass of lowerSplitSets
	// conSets is the most score sets in sweepSplit's first pass, the
	// one with the contract part. AVX2: with the belows in registers 4
	// ran past 16 YMM (Y16 and up, which VEX cannot encode), and 1, 2
	// and 3 timed alike on 5 sets; with them in the frame, fg and fh
	// too, 5 fit, and the seed sweep's sweep/auto went from 1.35 to
	// 1.33 against 2 and a pass for the other 3 (the second pass formed,
	// widened and summed m again; BENCHMARKS.md). The steps now take fg
	// and fh into registers after all (setsSplit.hold), with −0 and
	// VPERMD's indices, in the 4 YMM the sets leave. AVX-512: 5 sets in that
	// one pass were about a tenth faster than 4 and a pass for the fifth,
	// and 8 fit in 32 ZMM.
	conSets int
	reads   int // float32 accumulators of readSum
	gemvT   int // the most tokens of a small-T kernel (gemv.go)

	// The planner's exchange rates (kernel.go), in the direct path's
	// multiply-adds: they go to the kernel table as they are. All three
	// were fitted to which path is faster, each forced and timed with H
	// built (2-core AMD EPYC, a Zen 5 with full-width AVX-512, median of
	// 3), on 108 cases a kernel: in 256–2048, out 8, 16, 64 and
	// 0.625–1.5·in, one evaluation of 4096 tokens (2048 at in = 2048) in
	// batches of 16, 32 or 128, and for in ≤ 1024 a sweep of 5 score sets
	// × 9 ratios on 2048 tokens in batches of 32 or 128. They were refitted
	// on 2026-11-29 after the direct path's batch runs (direct.go) made
	// small batches cheaper: with these the planner picks a path more than
	// 5% slower on three cases (AVX2, at most 13%) and five (AVX-512, at
	// most 24%: 2048→1280 in 128-token batches, which no choice of the
	// three rates gets right with the rest), against seven (25%) and six
	// (59%) with the rates before (15 an entry, 3e5 and 1e6 a batch, 20 a
	// packed activation). The fit is flat for 18–30 an entry, 0–3e5 a
	// batch and 5–20 an activation; these sit inside it for both kernels.
	// Earlier rates with no packing term sent AVX2 sweeps of 1024→8 and
	// 1024→16 in 128-token batches down the direct path, 2.7 to 4.0 times
	// slower then, 1.8–2.0 now.
	gramEntryMACs, gramBatchMACs, directPackMACs int
}{
	{avx2, 6, 16, 2, 6, 4, 4, 12, 4, 5, 5, 8, 6, 20, 1e5, 10},
	{avx512, 14, 32, 2, 6, 8, 8, 24, 4, 8, 8, 8, 8, 20, 1e5, 10},
}

func main() {
	// avo's package-level context owns flag.CommandLine's flags; this
	// program builds its own context (to set signatures parsed in the
	// stand-in package, sig.go), so it parses its own flag set.
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	flags := build.NewFlags(fs)
	mca := fs.String("mca", "", "folder for the llvm-mca inputs (avx2_eval.s, ...), if any")
	table := fs.String("table", "", "kernel table output file (table.go)")
	fs.Parse(os.Args[1:])

	c := build.NewContext()
	c.Constraints(buildtags.And(
		buildtags.Not("purego"),
		buildtags.Not("noasm"),
		buildtags.Term("gc"),
	))
	var loops []mcaLoop
	var fams []family
	packRows(c) // scalar: one for both tables
	for _, s := range shapes {
		t := newTile(c, s.isa, s.mr, s.nr, s.unroll, s.bcasts)
		t.eval()
		t.gemm(gemmSet)
		t.gemm(gemmAdd)
		tail := newTile(c, s.isa, s.tailMR, s.nr, s.unroll, s.tailBcasts)
		tail.eval()
		tail.gemm(gemmSet)
		tail.gemm(gemmAdd)
		flops := s.isa.peak(c, s.chains)
		s.isa.lowerSplit(c, s.sums)
		s.isa.lowerSplitSets(c, s.sets)
		s.isa.readSum(c, s.reads)
		s.isa.contract(c)
		s.isa.contractSplit(c)
		s.isa.sweepSplit(c, s.sets, s.conSets)
		s.isa.dot4(c)
		s.isa.axpy4(c)
		s.isa.widenAdd(c)
		s.isa.packGram(c, s.mr, s.nr)
		s.isa.columnSums(c, s.nr)
		s.isa.moveAdd(c)
		gv := gemvs(c, s.isa, s.nr, s.gemvT)
		fams = append(fams, family{
			name: strings.ToLower(s.isa.name), mr: s.mr, nr: s.nr,
			funcs: kernelFuncs{
				eval: t.kernelName("eval"), gemm: t.kernelName(gemmSet.kind), gemmAcc: t.kernelName(gemmAdd.kind),
				lowerSplit: "lowerSplit" + s.isa.name, lowerSplitSets: "lowerSplitSets" + s.isa.name, readSum: "readSum" + s.isa.name, peak: "peak" + s.isa.name,
				contract: "contract" + s.isa.name, contractSplit: "contractSplit" + s.isa.name, sweepSplit: "sweepSplit" + s.isa.name,
				dot4: "dot4" + s.isa.name, axpy4: "axpy4" + s.isa.name, widenAdd: "widenAdd" + s.isa.name, packGram: "packGram" + s.isa.name,
				columnSums: "columnSums" + s.isa.name, moveAdd: "moveAdd" + s.isa.name, packRows: "packRows", gemv32: gv["gemv"], gemvBF16: gv["gemvBF16"], gemvF16: gv["gemvF16"],
				widenBF16: gv["widenBF16"][0], widenF16: gv["widenF16"][0],
			},
			tailMR:    s.tailMR,
			tail:      kernelFuncs{eval: tail.kernelName("eval"), gemm: tail.kernelName(gemmSet.kind), gemmAcc: tail.kernelName(gemmAdd.kind)},
			peakFlops: flops, gramEntryMACs: s.gramEntryMACs, gramBatchMACs: s.gramBatchMACs, directPackMACs: s.directPackMACs,
		})
		// gemmAcc runs gemm's loop; lowerSplit, readSum and the contracts are not FMA kernels.
		stem := strings.ToLower(s.isa.name) + "_"
		loops = append(loops, mcaLoop{t.kernelName("eval"), stem + "eval"},
			mcaLoop{t.kernelName("gemm"), stem + "gemm"}, mcaLoop{"peak" + s.isa.name, stem + "peak"})
	}
	cfg := flags.Config()
	cfg.Passes = append(cfg.Passes, pass.Func(vexPass))
	if *mca != "" {
		cfg.Passes = append(cfg.Passes, mcaPass(*mca, loops))
	}
	if *table != "" {
		cfg.Passes = append(cfg.Passes, tablePass(*table, fams))
	}
	os.Exit(build.Main(cfg, c))
}
