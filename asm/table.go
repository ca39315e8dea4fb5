package main

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"slices"
	"strings"

	"github.com/mmcloughlin/avo/buildtags"
	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
)

// The kernel table, kernel_table_amd64.go: one row per instruction set with
// its tile, its functions, its tail tile's kernel, its peak kernel's flops, the planner's rates and
// the extensions its functions require. The pass runs after avo's Compile,
// which gives each function its ISA list (the "// Requires:" line above it
// in kernel_amd64.s); a row requires their union, so dispatch checks what
// the code needs and nothing written by hand.

// A family is one instruction set's kernels as a row of the table.
type family struct {
	name                                         string // the kernel's name: avx2
	mr, nr                                       int
	funcs                                        kernelFuncs
	tailMR                                       int         // the tail tile's rows
	tail                                         kernelFuncs // the tail tile's eval, gemm and gemmAcc
	peakFlops                                    int
	gramEntryMACs, gramBatchMACs, directPackMACs int
}

// kernelFuncs names a family's functions, one per field of the library's
// kernel type.
type kernelFuncs struct {
	eval, gemm, gemmAcc, lowerSplit, lowerSplitSets, readSum, peak, contract, contractSplit, sweepSplit, dot4, axpy4, widenAdd, packGram, columnSums, moveAdd, packRows string
	gemv32, gemvBF16, gemvF16                                                                                                                                           []string // by token count, from 1
	widenBF16, widenF16                                                                                                                                                 string
}

func (k kernelFuncs) all() []string {
	all := []string{k.eval, k.gemm, k.gemmAcc, k.lowerSplit, k.lowerSplitSets, k.readSum, k.peak, k.contract, k.contractSplit, k.sweepSplit, k.dot4, k.axpy4, k.widenAdd, k.packGram, k.columnSums, k.moveAdd, k.packRows}
	return slices.Concat(all, k.gemv32, k.gemvBF16, k.gemvF16, []string{k.widenBF16, k.widenF16})
}

// tablePass writes the table of fams to path.
func tablePass(path string, fams []family) pass.Func {
	return func(f *ir.File) error {
		isa := map[string][]string{}
		for _, fn := range f.Functions() {
			isa[fn.Name] = fn.ISA
		}
		constraints, err := buildtags.Format(f.Constraints)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "// %s\n\n%s\npackage chanprune\n\n", printer.NewGoRunConfig().GeneratedWarning(), constraints)
		b.WriteString("// kernelTable lists the kernels of kernel_amd64.s, slowest first, each\n" +
			"// with the extensions its functions require (their Requires lines merged).\n" +
			"var kernelTable = []kernelSpec{\n")
		for _, fm := range fams {
			var requires []string
			for _, name := range append(fm.funcs.all(), fm.tail.eval, fm.tail.gemm, fm.tail.gemmAcc) {
				r, ok := isa[name]
				if !ok {
					return fmt.Errorf("kernel table: %s: no function %s", fm.name, name)
				}
				requires = append(requires, r...)
			}
			slices.Sort(requires)
			k, tk := fm.funcs, fm.tail
			fmt.Fprintf(&b, "{kernel: &kernel{name: %q, mr: %d, nr: %d,\n"+
				"eval: %s, gemm: %s, gemmAcc: %s, lowerSplit: %s, readSum: %s,\n"+
				"lowerSplitSets: %s, contract: %s, contractSplit: %s, sweepSplit: %s,\n"+
				"dot4: %s, axpy4: %s, widenAdd: %s, packGram: %s, columnSums: %s, moveAdd: %s,\n"+
				"packRows: %s,\n"+
				"peak: %s, peakFlops: %d, gramEntryMACs: %d, gramBatchMACs: %d, directPackMACs: %d,\n"+
				"gemv32: []gemv32Func{%s},\ngemvBF16: []gemv16Func{%s},\ngemvF16: []gemv16Func{%s},\n"+
				"widenBF16: %s, widenF16: %s, bf16Pairs: true,\n"+
				"tail: &kernel{name: %q, mr: %d, nr: %d, eval: %s, gemm: %s, gemmAcc: %s}},\n"+
				"requires: []string{%s}},\n",
				fm.name, fm.mr, fm.nr, k.eval, k.gemm, k.gemmAcc, k.lowerSplit, k.readSum, k.lowerSplitSets, k.contract, k.contractSplit, k.sweepSplit,
				k.dot4, k.axpy4, k.widenAdd, k.packGram, k.columnSums, k.moveAdd, k.packRows,
				k.peak, fm.peakFlops, fm.gramEntryMACs, fm.gramBatchMACs, fm.directPackMACs,
				strings.Join(k.gemv32, ", "), strings.Join(k.gemvBF16, ", "), strings.Join(k.gemvF16, ", "),
				k.widenBF16, k.widenF16,
				fm.name+"/tail", fm.tailMR, fm.nr, tk.eval, tk.gemm, tk.gemmAcc,
				quoted(slices.Compact(requires)))
		}
		b.WriteString("}\n")
		src, err := format.Source(b.Bytes())
		if err != nil {
			return fmt.Errorf("kernel table: %w", err)
		}
		return os.WriteFile(path, src, 0o644)
	}
}

// quoted lists ss as Go string literals.
func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
