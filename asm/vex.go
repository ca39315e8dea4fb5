package main

import (
	"fmt"
	"slices"

	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// vexPass fails the generation where a function that does not require
// AVX512F uses a vector register numbered 16 or more. avo's allocator
// takes those when a VEX (AVX2) function needs more than 16 at once, and
// only EVEX (AVX-512) can encode them: the assembler would reject the
// code, or encode it for a CPU that a kernel table row for AVX2 does not
// require.
func vexPass(f *ir.File) error {
	for _, fn := range f.Functions() {
		if slices.Contains(fn.ISA, "AVX512F") {
			continue
		}
		for _, in := range fn.Instructions() {
			for _, op := range in.Operands {
				for _, r := range operand.Registers(op) {
					if p := reg.ToPhysical(r); p != nil && p.Kind() == reg.KindVector && p.PhysicalIndex() >= 16 {
						return fmt.Errorf("%s: %s uses %s, beyond the 16 vector registers of VEX", fn.Name, in.Opcode, p.Asm())
					}
				}
			}
		}
	}
	return nil
}
