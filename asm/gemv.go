package main

import (
	"fmt"
	"math/bits"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The small-T products (gemv32Func and gemv16Func in kernel.go; the
// reference is gemvGeneric in kernel_generic.go). A call of t ≤ 8 tokens is
// bound by reading the weight, so a kernel streams one packed weight panel
// (depth rows of nr outputs) once, for a fixed token count t, one function
// per t: each K step loads the panel's row, widening it to float32 in
// registers when it is stored in 16 bits, and does t·nr/lanes FMAs with the
// tokens' values of that channel ({1to16} operands for AVX-512, a
// VBROADCASTSS for AVX2). The steps are unrolled by four (gemvUnroll), with
// a loop of single steps for the last depth mod 4; where t·nr/lanes
// accumulators are fewer than gemvChains (few tokens), step s of an
// iteration adds into its own set of accumulators (s mod 2 or 4), so that
// the FMAs do not wait on each other, and the sets are added pairwise at the
// end: each output is a sum of up to four partial sums in channel order,
// within a dot product's error of gemvGeneric's one (checkGemv). Then bias
// is added and rows i < t are stored under gemm's column masks. There is no
// software prefetch: each worker streams whole panels, which the hardware
// prefetcher follows, and a PREFETCHT0 1 KiB ahead of each cache line read
// made the float32 T1 kernel 25% slower on Zen 4 (one core, 16 MiB).
//
// Widening (packing in product.storeIn and pack16.go):
//   - float16: VCVTPH2PS (AVX-512F; F16C for YMM), the row in output order;
//   - bfloat16: a float32 whose top half is the value, so the row is stored
//     in pairs, dword d holding output d (low half) and output nr/2+d
//     (high half): a shift left by 16 gives the first half of the outputs,
//     an AND with 0xffff0000 the second, with no shuffle and in AVX-512F
//     alone (VPMOVZXWD on ZMM would need AVX512BW).

// A gemvFormat is the weight format one small-T kernel reads.
type gemvFormat struct {
	kind   string // the name's prefix: gemv, gemvBF16, gemvF16
	sig    string
	bytes  int // bytes of one weight
	doc    string
	widen  func(t *tile, row Mem, b []reg.VecVirtual, hi reg.VecVirtual)
	hiMask bool // needs the 0xffff0000 mask register
}

var gemvFormats = []gemvFormat{
	{kind: "gemv", sig: gemv32Sig, bytes: 4, doc: "a float32 panel",
		widen: func(t *tile, row Mem, b []reg.VecVirtual, _ reg.VecVirtual) {
			for j := range b {
				t.VMOVUPS(row.Offset(j*t.vecBytes()), b[j])
			}
		}},
	{kind: "gemvBF16", sig: gemv16Sig, bytes: 2, doc: "a bfloat16 panel (stored in pairs)", hiMask: true,
		widen: func(t *tile, row Mem, b []reg.VecVirtual, hi reg.VecVirtual) {
			// One vector of dwords holds both halves of the row.
			if t.lanes == 16 {
				t.VPSLLD(U8(16), row, b[0])
				t.VPANDD(row, hi, b[1])
				return
			}
			t.VMOVDQU(row, b[0])
			t.VPAND(row, hi, b[1])
			t.VPSLLD(U8(16), b[0], b[0])
		}},
	{kind: "gemvF16", sig: gemv16Sig, bytes: 2, doc: "a float16 panel",
		widen: func(t *tile, row Mem, b []reg.VecVirtual, _ reg.VecVirtual) {
			for j := range b {
				t.VCVTPH2PS(row.Offset(j*2*t.lanes), b[j])
			}
		}},
}

// gemvs emits the small-T kernels of x for panels of nr outputs, for 1 …
// most tokens, in every format, and the widening kernels of the 16-bit
// formats (widen.go), and returns their names by format kind: the gemv
// kinds, and widenBF16, widenF16.
func gemvs(c *build.Context, x *isa, nr, most int) map[string][]string {
	names := map[string][]string{}
	for _, f := range gemvFormats {
		for tokens := 1; tokens <= most; tokens++ {
			t := &tile{Context: c, isa: x, mr: tokens, nr: nr, unroll: 2}
			names[f.kind] = append(names[f.kind], t.gemv(f))
		}
		if f.bytes == 2 {
			kind := "widen" + f.kind[len("gemv"):]
			names[kind] = []string{(&tile{Context: c, isa: x, mr: 1, nr: nr}).widen(f)}
		}
	}
	return names
}

// gemvChains is how many independent FMA chains a K step should keep in
// flight: an FMA's latency (4 cycles) times the FMAs a cycle (2), so that
// the few tokens of a small-T kernel do not wait on their own sums.
const gemvChains = 8

// gemvUnroll is the K steps of one iteration of a small-T kernel's loop;
// the accumulator sets divide it.
const gemvUnroll = 4

// gemvSets returns the accumulator sets of the small-T kernel of format f
// for t.mr tokens (a power of two dividing gemvUnroll; step s of an
// iteration adds into set s mod sets): enough sets for gemvChains chains,
// as many as the registers hold, and the registers that takes.
func (t *tile) gemvSets(f gemvFormat) (sets, regs int) {
	fixed := t.vecsPerRow() // one row of w
	if t.lanes != 16 {
		fixed++ // the VBROADCASTSS register
	}
	if f.hiMask {
		fixed++
	}
	acc := t.mr * t.vecsPerRow()
	for sets = 1; sets < gemvUnroll && sets*acc < gemvChains && 2*sets*acc+fixed <= t.regs; sets *= 2 {
	}
	return sets, sets*acc + fixed
}

// gemv emits the small-T kernel of format f for t.mr tokens.
func (t *tile) gemv(f gemvFormat) string {
	if f.hiMask && t.vecsPerRow() != 2 {
		panic(fmt.Sprintf("%s: bfloat16 pairs need a row of two vectors, not %d", t.name, t.vecsPerRow()))
	}
	sets, regs := t.gemvSets(f)
	if regs > t.regs {
		panic(fmt.Sprintf("%s: %d tokens need %d of %d vector registers", t.name, t.mr, regs, t.regs))
	}
	name := t.kernelName(f.kind)
	t.Function(name)
	t.Attributes(attr.NOSPLIT)
	t.Signature(signature(f.sig))
	t.Pragma("noescape")
	t.Doc(
		fmt.Sprintf("%s sets c[i·ldc+j] to Σ_p x[i·ldx+p]·w[p, j] + bias[j] for the", name),
		fmt.Sprintf("i < %d tokens and j < n outputs of %s of %d outputs, with %s.", t.mr, f.doc, t.nr, t.title),
		fmt.Sprintf("It implements %s (kernel.go); refer to gemvGeneric in kernel_generic.go.", map[bool]string{true: "gemv16Func", false: "gemv32Func"}[f.bytes == 2]),
	)
	t.Commentf("Register budget: %d sets of %d accumulators + %d w + broadcast and mask = %d of %d %s.",
		sets, t.mr*t.vecsPerRow(), t.vecsPerRow(), regs, t.regs, t.regName())
	ldx := t.Load(t.Param("ldx"), t.GP64()).(reg.GPVirtual)
	t.SHLQ(U8(2), ldx) // ldx in bytes
	rows := make([]reg.GPVirtual, t.mr)
	for i := range rows {
		rows[i] = t.GP64()
		if i == 0 {
			t.Load(t.Param("x").Base(), rows[0])
			continue
		}
		t.LEAQ(Mem{Base: rows[i-1], Index: ldx, Scale: 1}, rows[i])
	}
	w := t.Load(t.Param("w").Base(), t.GP64()).(reg.GPVirtual)
	depth := t.Load(t.Param("depth"), t.GP64()).(reg.GPVirtual)
	var hi reg.VecVirtual
	if f.hiMask {
		hi = t.vec(t.Context)
		t.VBROADCASTSS(t.hiMaskTable(), hi)
	}
	acc := make([][][]reg.VecVirtual, sets)
	for s := range acc {
		acc[s] = t.accumulators()
		t.zeroAll(acc[s])
	}
	p := t.GP64()
	t.XORQ(p, p)
	rowBytes := t.nr * f.bytes
	// step emits K step s of an iteration into accumulator set a.
	step := func(s int, a [][]reg.VecVirtual) {
		row := Mem{Base: w}.Offset(s * rowBytes)
		b := make([]reg.VecVirtual, t.vecsPerRow())
		for j := range b {
			b[j] = t.vec(t.Context)
		}
		f.widen(t, row, b, hi)
		var bc reg.VecVirtual
		for i, r := range rows {
			xi := Mem{Base: r, Index: p, Scale: 4}.Offset(4 * s)
			if t.lanes == 16 {
				for j := range b {
					t.VFMADD231PS_BCST(xi, b[j], a[i][j])
				}
				continue
			}
			if bc == nil {
				bc = t.vec(t.Context)
			}
			t.VBROADCASTSS(xi, bc)
			for j := range b {
				t.VFMADD231PS(b[j], bc, a[i][j])
			}
		}
	}
	n := t.GP64()
	t.MOVQ(depth, n)
	t.SHRQ(U8(bits.TrailingZeros(gemvUnroll)), n)
	t.JZ(LabelRef("tail")) // if depth < gemvUnroll: single steps only
	t.Label("loop")
	for s := range gemvUnroll {
		step(s, acc[s%sets])
	}
	t.ADDQ(U32(gemvUnroll*rowBytes), w)
	t.ADDQ(U8(gemvUnroll), p)
	t.DECQ(n)
	t.JNZ(LabelRef("loop"))
	t.Label("tail")
	t.ANDQ(U8(gemvUnroll-1), depth)
	t.JZ(LabelRef("sum")) // if no step is left: sum
	t.Label("one")
	step(0, acc[0])
	t.ADDQ(U32(rowBytes), w)
	t.INCQ(p)
	t.DECQ(depth)
	t.JNZ(LabelRef("one"))
	t.Label("sum")

	t.Comment("Sum the sets pairwise into set 0, then add bias.")
	for d := sets / 2; d > 0; d /= 2 {
		for s := range d {
			for i := range acc[s] {
				for j := range acc[s][i] {
					t.VADDPS(acc[s+d][i][j], acc[s][i][j], acc[s][i][j])
				}
			}
		}
	}
	t.addBias(acc[0])
	m := t.GP64()
	t.MOVQ(U32(t.mr), m) // every row is a token
	t.storeAndReturn(acc[0], m, false)
	return name
}

// hiMaskTable returns the float32 bits 0xffff0000: ANDed with a dword of
// two bfloat16 values, it leaves the high one as a float32.
func (t *tile) hiMaskTable() Mem { return rodata(t.Context, "bf16hi", U32(0xffff0000)) }
