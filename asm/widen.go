package main

import (
	"fmt"
	"math/bits"

	"github.com/mmcloughlin/avo/attr"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The widening kernels (widen16Func in kernel.go; the reference is
// kernel.unpack16 in pack16.go): whole rows of a 16-bit weight panel to
// float32 in output order, for the gemm of a 16-bit layer, which widens a
// K block of a panel before multiplying it (product.block). Each row is
// widened as the small-T kernels widen it (gemvFormat.widen) and stored.

// widen emits the widening kernel of format f (a 16-bit one) for rows of
// t.nr and returns its name.
func (t *tile) widen(f gemvFormat) string {
	name := fmt.Sprintf("widen%s%s_%d", f.kind[len("gemv"):], t.isa.name, t.nr)
	t.Function(name)
	t.Attributes(attr.NOSPLIT)
	t.Signature(signature(widen16Sig))
	t.Pragma("noescape")
	t.Doc(
		fmt.Sprintf("%s sets dst to src widened to float32 in output order: src is", name),
		fmt.Sprintf("whole rows of %d outputs of %s, dst as long. It implements", t.nr, f.doc),
		"widen16Func (kernel.go); refer to kernel.unpack16 in pack16.go.",
	)
	dst := t.Load(t.Param("dst").Base(), t.GP64()).(reg.GPVirtual)
	src := t.Load(t.Param("src").Base(), t.GP64()).(reg.GPVirtual)
	rows := t.Load(t.Param("src").Len(), t.GP64()).(reg.GPVirtual)
	t.SHRQ(U8(bits.TrailingZeros(uint(t.nr))), rows) // rows = len(src) / nr
	var hi reg.VecVirtual
	if f.hiMask {
		hi = t.vec(t.Context)
		t.VBROADCASTSS(t.hiMaskTable(), hi)
	}
	t.TESTQ(rows, rows)
	t.JZ(LabelRef("done")) // if no row: done
	t.Label("loop")
	b := make([]reg.VecVirtual, t.vecsPerRow())
	for j := range b {
		b[j] = t.vec(t.Context)
	}
	f.widen(t, Mem{Base: src}, b, hi)
	for j, v := range b {
		t.VMOVUPS(v, Mem{Base: dst}.Offset(j*t.vecBytes()))
	}
	t.ADDQ(U32(t.nr*f.bytes), src)
	t.ADDQ(U32(4*t.nr), dst)
	t.DECQ(rows)
	t.JNZ(LabelRef("loop"))
	t.Label("done")
	t.VZEROUPPER()
	t.RET()
	return name
}
