package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// A gemmVariant is one of the dense product kernels. Both run the same K
// loop (kloop) and store the same m×n corner of the tile with the same
// masks; they differ only in what the sum gets before the store.
type gemmVariant struct {
	kind string // the name's prefix: gemm, gemmAcc
	sig  string
	// accumulate: add the tile's old values, loaded under the store's
	// column masks (gemmAccFunc); else add bias (gemmFunc).
	accumulate bool
}

var (
	// gemmSet sets the tile to a·w + bias (gemmFunc).
	gemmSet = gemmVariant{kind: "gemm", sig: gemmSig}
	// gemmAdd adds a·w to the tile (gemmAccFunc): the later K blocks of a
	// blocked product.
	gemmAdd = gemmVariant{kind: "gemmAcc", sig: gemmAccSig, accumulate: true}
)

// gemm emits the variant's kernel for the tile (kernel.go; the references
// are gemmGeneric and gemmAccGeneric in kernel_generic.go): the K loop over
// contiguous rows of w, then bias added (gemm) or the tile's old values
// loaded and added (gemmAcc), then rows i < m stored with stride ldc,
// columns j < n only (masked loads and stores), so nothing past
// c[(m-1)·ldc+n-1] is read or written.
func (t *tile) gemm(g gemmVariant) {
	name := t.kernelName(g.kind)
	t.Function(name)
	t.Attributes(attr.NOSPLIT)
	t.Signature(signature(g.sig))
	t.Pragma("noescape")
	if g.accumulate {
		t.Doc(
			fmt.Sprintf("%s adds a·w to the top-left m×n part of a %d×%d tile of c", name, t.mr, t.nr),
			fmt.Sprintf("with %s: a holds k rows of %d floats, w k contiguous rows of %d;", t.title, t.mr, t.nr),
			"row i of the tile starts at c[i·ldc], and only c[i·ldc+j] for i < m,",
			"j < n is read and written. k may be 0. It implements gemmAccFunc",
			"(kernel.go); refer to kernel_generic.go.",
		)
	} else {
		t.Doc(
			fmt.Sprintf("%s sets the top-left m×n part of a %d×%d tile of c to", name, t.mr, t.nr),
			fmt.Sprintf("a·w + bias with %s: a holds k rows of %d floats, w k contiguous", t.title, t.mr),
			fmt.Sprintf("rows of %d; row i of the tile starts at c[i·ldc], and only c[i·ldc+j]", t.nr),
			"for i < m, j < n is written. k may be 0. It implements gemmFunc",
			"(kernel.go); refer to kernel_generic.go.",
		)
	}
	t.budget()
	a := t.Load(t.Param("a").Base(), t.GP64()).(reg.GPVirtual)
	w := t.Load(t.Param("w").Base(), t.GP64()).(reg.GPVirtual)
	k := t.Load(t.Param("k"), t.GP64()).(reg.GPVirtual)
	acc := t.accumulators()
	t.zeroAll(acc)
	t.kloop("k", k, a, w, nil, nil, acc)

	if !g.accumulate {
		t.Comment("Add bias after the sum, in the order gemmGeneric rounds.")
		t.addBias(acc)
	}
	m := t.Load(t.Param("m"), t.GP64()).(reg.GPVirtual)
	if g.accumulate {
		t.Comment("Add the tile's old values to the sum, in the order gemmAccGeneric rounds.")
	}
	t.storeAndReturn(acc, m, g.accumulate)
}

// storeRows emits, for each row i of acc, store(i, row, at) with at the
// row's address, stopping after m rows.
func (t *tile) storeRows(acc [][]reg.VecVirtual, c, ldc, m reg.GPVirtual, store func(row []reg.VecVirtual, at Mem)) {
	t.TESTQ(m, m)
	t.JZ(LabelRef("done")) // if m == 0: nothing to store
	for i, row := range acc {
		store(row, Mem{Base: c})
		if i == len(acc)-1 {
			break
		}
		t.DECQ(m)
		t.JZ(LabelRef("done")) // if i+1 == m: done
		t.ADDQ(ldc, c)
	}
}

// storeMasked512 stores with one K mask per column vector, from n; with
// accumulate, it first adds c's old values, loaded under the same masks.
func (t *tile) storeMasked512(acc [][]reg.VecVirtual, c, ldc, m, n reg.GPVirtual, accumulate bool) {
	t.Comment("Column masks: bits j < n of (1<<n)-1, 16 per vector.")
	bits := t.GP64()
	t.MOVQ(n, reg.RCX)
	t.MOVL(U32(1), bits.As32())
	t.SHLQ(reg.CL, bits)
	t.DECQ(bits)
	masks := make([]reg.OpmaskVirtual, t.vecsPerRow())
	for j := range masks {
		masks[j] = t.K()
		t.KMOVW(bits.As32(), masks[j])
		if j < len(masks)-1 {
			t.SHRQ(U8(16), bits)
		}
	}
	var old reg.VecVirtual
	if accumulate {
		old = t.vec(t.Context)
	}
	t.storeRows(acc, c, ldc, m, func(row []reg.VecVirtual, at Mem) {
		for j, v := range row {
			if accumulate {
				t.VMOVUPS_Z(at.Offset(j*t.vecBytes()), masks[j], old)
				t.VADDPS(old, v, v)
			}
			t.VMOVUPS(v, masks[j], at.Offset(j*t.vecBytes()))
		}
	})
}

// storeMasked256 stores whole rows when n == nr, else with VMASKMOVPS masks
// loaded from a table of nr −1s then nr 0s, from element nr−n on. With
// accumulate, it first adds c's old values, loaded whole or under the same
// masks.
func (t *tile) storeMasked256(acc [][]reg.VecVirtual, c, ldc, m, n reg.GPVirtual, accumulate bool) {
	t.CMPQ(n, U32(t.nr))
	t.JB(LabelRef("partial")) // if n < nr: masked stores
	t.storeRows(acc, c, ldc, m, func(row []reg.VecVirtual, at Mem) {
		for j, v := range row {
			if accumulate {
				t.VADDPS(at.Offset(j*t.vecBytes()), v, v)
			}
			t.VMOVUPS(v, at.Offset(j*t.vecBytes()))
		}
	})
	t.JMP(LabelRef("done"))

	t.Label("partial")
	table := colMaskTable(t.Context, t.nr)
	p := t.GP64()
	t.LEAQ(table, p)
	t.NEGQ(n)
	masks := make([]reg.VecVirtual, t.vecsPerRow())
	for j := range masks {
		masks[j] = t.vec(t.Context)
		// mask lane l of vector j is table[nr-n+8j+l] = -1 iff 8j+l < n
		t.VMOVUPS(Mem{Base: p, Index: n, Scale: 4}.Offset(4*t.nr+j*t.vecBytes()), masks[j])
	}
	var old reg.VecVirtual
	if accumulate {
		old = t.vec(t.Context)
	}
	t.storeRows(acc, c, ldc, m, func(row []reg.VecVirtual, at Mem) {
		for j, v := range row {
			if accumulate {
				t.VMASKMOVPS(at.Offset(j*t.vecBytes()), masks[j], old)
				t.VADDPS(old, v, v)
			}
			t.VMASKMOVPS(v, masks[j], at.Offset(j*t.vecBytes()))
		}
	})
}

// colMaskTable returns the column mask table for a tile width: nr int32
// −1s followed by nr zeros, emitted once per width.
func colMaskTable(c *build.Context, nr int) Mem {
	return rodata(c, fmt.Sprintf("colmask%d", nr), words(2*nr, func(i int) uint32 {
		if i < nr {
			return 0xffffffff
		}
		return 0
	})...)
}

// tables holds the read-only tables emitted so far, by name (rodata).
var tables = map[string]Mem{}

// rodata returns the read-only table name of the entries, one after
// another, emitted the first time it is asked for.
func rodata(c *build.Context, name string, entries ...Constant) Mem {
	if m, ok := tables[name]; ok {
		return m
	}
	m := c.StaticGlobal(name)
	c.DataAttributes(attr.RODATA | attr.NOPTR)
	off := 0
	for _, v := range entries {
		c.AddDatum(off, v)
		off += v.Bytes()
	}
	tables[name] = m
	return m
}

// words returns n uint32 table entries, entry i f(i).
func words(n int, f func(i int) uint32) []Constant {
	w := make([]Constant, n)
	for i := range w {
		w[i] = U32(f(i))
	}
	return w
}
