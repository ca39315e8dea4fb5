package main

import (
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The end the dense products share (gemm, gemmAcc and the small-T gemv):
// bias added after the sum, then the tile's rows stored under column masks.

// addBias adds the bias row (the parameter bias, nr floats) to every row of
// acc, after the sum, in the order gemmGeneric and gemvGeneric round.
func (t *tile) addBias(acc [][]reg.VecVirtual) {
	bias := t.Load(t.Param("bias").Base(), t.GP64()).(reg.GPVirtual)
	for _, row := range acc {
		for j, v := range row {
			t.VADDPS(Mem{Base: bias}.Offset(j*t.vecBytes()), v, v)
		}
	}
}

// storeAndReturn stores rows i < m of acc to the parameter c with stride
// ldc, columns j < n only (with accumulate, c's old values added first),
// then returns. The rows register m comes from the caller.
func (t *tile) storeAndReturn(acc [][]reg.VecVirtual, m reg.GPVirtual, accumulate bool) {
	c := t.Load(t.Param("c").Base(), t.GP64()).(reg.GPVirtual)
	ldc := t.Load(t.Param("ldc"), t.GP64()).(reg.GPVirtual)
	t.SHLQ(U8(2), ldc) // ldc in bytes
	n := t.Load(t.Param("n"), t.GP64()).(reg.GPVirtual)
	if t.lanes == 16 {
		t.storeMasked512(acc, c, ldc, m, n, accumulate)
	} else {
		t.storeMasked256(acc, c, ldc, m, n, accumulate)
	}
	t.Label("done")
	t.VZEROUPPER()
	t.RET()
}
