package main

import (
	"bytes"
	"fmt"
	"go/format"
	"strings"
)

// The kernel table, kernel_table_arm64.go: the NEON kernel's row, written
// by the run that writes its functions, so the library's dispatch reads the
// tile, the functions and the peak flops from here and nowhere else.

// The planner's exchange rates (kernel.go) for the NEON kernel, in its
// multiply-adds, not measured on hardware: the entry rate as AVX2's (the
// contract and gemm kernels narrow alike with the vector width), the batch
// rate estimated from the 4-lane width.
const (
	GramEntryMACs = 50
	GramBatchMACs = 4e6
)

// requires is what the kernels need: base ASIMD only, as the assembler's
// instructions and the WORD-encoded ones (fmla by element, fadd, faddp,
// fmul, fcvtl, fcvtl2, cmgt, sxtl, sxtl2; fcvtl from float16 too) all are.
var requires = []string{"ASIMD"}

// A neonKernel names the NEON functions of the kernel's fields.
type neonKernel struct {
	eval, gemm, gemmAcc, lowerSplit, readSum, peak, contract, contractSplit, dot4, axpy4, widenAdd *kernelFunc
	gemv                                                                                           map[string][]*kernelFunc // by kind (gemvKernels)
}

// names lists the functions' names, comma-separated.
func names(fs []*kernelFunc) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.name)
	}
	return strings.Join(s, ", ")
}

// genTable writes the table's Go source for kernel k of shape sh.
func genTable(header string, sh shape, k neonKernel) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// %s\n\n//go:build %s\n\npackage chanprune\n\n", header, buildConstraint)
	fmt.Fprintf(&b, `// kernelTable lists the kernel of kernel_arm64.s with the extensions it requires.
var kernelTable = []kernelSpec{{
	kernel: &kernel{name: "neon", mr: %d, nr: %d,
		eval: %s, gemm: %s, gemmAcc: %s, lowerSplit: %s, readSum: %s,
		contract: %s, contractSplit: %s, dot4: %s, axpy4: %s, widenAdd: %s,
		peak: %s, peakFlops: %d, gramEntryMACs: %d, gramBatchMACs: %d,
		gemv32: []gemv32Func{%s},
		gemvBF16: []gemv16Func{%s},
		gemvF16: []gemv16Func{%s},
		widenBF16: %s, widenF16: %s},
	requires: %#v,
}}
`, sh.mr, sh.nr, k.eval.name, k.gemm.name, k.gemmAcc.name, k.lowerSplit.name, k.readSum.name, k.contract.name, k.contractSplit.name, k.dot4.name, k.axpy4.name, k.widenAdd.name,
		k.peak.name, sh.peakFlops(), GramEntryMACs, int(GramBatchMACs),
		names(k.gemv["gemv"]), names(k.gemv["gemvBF16"]), names(k.gemv["gemvF16"]),
		names(k.gemv["widenBF16"]), names(k.gemv["widenF16"]), requires)
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the kernel table: %v\n%s", err, b.Bytes())
	}
	return src, nil
}
