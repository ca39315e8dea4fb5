//go:generate go run . -out ../kernel_amd64.s -stubs ../kernel_amd64.go -table ../kernel_table_amd64.go -pkg chanprune -mca ../testdata/mca

// Command asm generates kernel_amd64.s, its Go declarations
// kernel_amd64.go and the kernel table kernel_table_amd64.go (table.go) for
// package chanprune with avo. Run `go generate` in this
// folder; the output is deterministic and committed.
//
// # Algorithm and layout
//
// The Go reference for every kernel here is kernel_generic.go; kernel.go
// states the contracts (evalFunc, gemmFunc, gemmAccFunc, lowerSumFunc). A
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
//   - lowerSum (lowerSumFunc, the sweep's row reduction) adds m[j] for
//     rank[j] < below in float64: the signed compare makes a mask, m is
//     ANDed with it in float32 (AVX2: VPCMPGTD and VANDPS on XMM, 4 a step)
//     or added under it (AVX-512: VPCMPGTD into K, 16 a block, the two
//     halves widened from memory and added under the low and high byte),
//     widened with VCVTPS2PD and summed in independent accumulators
//     (lowersum.go). Tails: whole steps or blocks, then AVX2 adds the last
//     len mod 4 one by one and AVX-512 does one block under a count mask
//     with masked loads.
//
// # Register budgets
//
//	AVX2   6×16:  12 accumulators + 2 w + 1 broadcast = 15 of 16 YMM
//	AVX512 14×32: 28 accumulators + 2 w + 1 broadcast = 31 of 32 ZMM
//	eval epilogue (both): NR/(lanes/2) = 4 bias + 2×4 float64 sums +
//	3 temporaries = 15 registers; the sums reuse accumulator registers
//	lowerSum AVX2:   4 accumulators + below + 2 temporaries = 7 YMM
//	lowerSum AVX512: 4 accumulators + below + 3 temporaries = 8 ZMM, 4 K
//
// Each K step does MR·NR/lanes FMAs for NR/lanes + MR loads: the tile must
// give the accumulators enough independent chains to cover the FMA latency
// on both FMA ports (4 cycles × 2 = 8 at least), and enough FMAs per load
// that the loads (2-3 a cycle) never limit the FMA ports.
//
// # Why these shapes (measured)
//
// On the 2 vCPU Sapphire Rapids VM this was written on, one core, the
// kernels called in a loop on K = 1024 (nk = 819) with the w panel and four
// rotating a panels L2-resident, each 10 ms burst interleaved with the
// peak kernel of its ISA so that each ratio compares one clock; 60 rounds,
// medians (the machine's clock varies by ±10% from run to run):
//
//	peakAVX2      ≈  95 GFLOP/s     peakAVX512      ≈ 175-180 GFLOP/s
//	evalAVX2 6×16    0.90 of peak   evalAVX512 14×32   0.96 of peak
//	gemmAVX2 6×16    0.91-0.93      gemmAVX512 14×32   0.99
//	evalAVX2 4×24    0.71           evalAVX512 12×32   0.96
//	                                evalAVX512 10×32   0.95
//	                                evalAVX512  8×48   0.97
//	                                evalAVX512  6×64   0.97
//
// At K = 256 the fixed epilogue shows: eval 0.86 (AVX2) and 0.88 (AVX-512).
// AVX2 4×24 ties 6×16 as gemm (0.94 vs 0.93 in a second run), but its eval
// falls to 0.71-0.74 (its 96-byte rows need an IMUL for the row address and
// its epilogue fits only one set of sums; not pursued), so 6×16 stays. The
// AVX-512 shapes tie within the noise, so
// 14×32 stays: it loads the fewest bytes per flop (184 B for 896 flops a
// step; 8×48 loads 224 B for 768), which matters once the panels come from
// L2 or beyond. Unrolling the K loop by 2 or 4 (the unroll parameter)
// changed nothing measurable on either ISA, so it is 1.
//
// lowerSum on a 1024-element row (L1-resident, below drawn over the row,
// medians of 7-15 runs): lowerSumGeneric 0.9-1.0 elements/ns, AVX2 5.4-6.3,
// AVX-512 8.8-10 (the spread is the machine's load and clock). By uop
// count both are bound by the vector ports, not by add latency: AVX2 does
// 5 vector uops a step of 4 (compare, AND, a 2-uop VCVTPS2PD, add) on
// ports 0, 1, 5, at most 2.4 elements a cycle; AVX-512 does 8 uops on
// ports 0 and 5 a block of 16 (compare, KSHIFTRW, 2 × 2 for the
// conversions, 2 adds), at most 4. 2 or 8 accumulators instead of 4 moved
// either by ≤ 4%, in the noise, and the AVX2 kernel's VADDPD measured the
// same as a VFMADD231PD by 1.0 (6.2 vs 6.3). In BenchmarkSweep/seed
// (min of 6 runs) the kernels took a sweep from 625 to 398 ms (avx2) and
// from 589 to 331 ms (avx512) against lowerSumGeneric.
package main

import (
	"flag"
	"os"
	"strings"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/buildtags"
)

// shapes lists the register tiles generated for each instruction set, and
// the accumulators of its lowerSum.
var shapes = []struct {
	isa    *isa
	mr, nr int
	unroll int // K steps per loop iteration
	bcasts int // rows broadcast by VBROADCASTSS (tile.go); the rest by {1to16}
	chains int // FMA chains of the peak kernel
	sums   int // float64 accumulators of lowerSum
	reads  int // float32 accumulators of readSum

	// The planner's exchange rates (kernel.go), in this kernel's
	// multiply-adds, fitted to BenchmarkEvaluateAuto: they go to the
	// kernel table as they are.
	gramEntryMACs, gramBatchMACs int
}{
	{avx2, 6, 16, 1, 6, 12, 4, 8, 95, 7e6},
	{avx512, 14, 32, 1, 3, 24, 4, 8, 190, 14e6},
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
	for _, s := range shapes {
		t := newTile(c, s.isa, s.mr, s.nr, s.unroll, s.bcasts)
		t.eval()
		t.gemm(gemmSet)
		t.gemm(gemmAdd)
		flops := s.isa.peak(c, s.chains)
		s.isa.lowerSum(c, s.sums)
		s.isa.readSum(c, s.reads)
		fams = append(fams, family{
			name: strings.ToLower(s.isa.name), mr: s.mr, nr: s.nr,
			funcs: kernelFuncs{
				eval: t.kernelName("eval"), gemm: t.kernelName(gemmSet.kind), gemmAcc: t.kernelName(gemmAdd.kind),
				lowerSum: "lowerSum" + s.isa.name, readSum: "readSum" + s.isa.name, peak: "peak" + s.isa.name,
			},
			peakFlops: flops, gramEntryMACs: s.gramEntryMACs, gramBatchMACs: s.gramBatchMACs,
		})
		// gemmAcc runs gemm's loop; lowerSum and readSum are not FMA kernels.
		stem := strings.ToLower(s.isa.name) + "_"
		loops = append(loops, mcaLoop{t.kernelName("eval"), stem + "eval"},
			mcaLoop{t.kernelName("gemm"), stem + "gemm"}, mcaLoop{"peak" + s.isa.name, stem + "peak"})
	}
	cfg := flags.Config()
	if *mca != "" {
		cfg.Passes = append(cfg.Passes, mcaPass(*mca, loops))
	}
	if *table != "" {
		cfg.Passes = append(cfg.Passes, tablePass(*table, fams))
	}
	os.Exit(build.Main(cfg, c))
}
