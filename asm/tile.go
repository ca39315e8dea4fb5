package main

import (
	"fmt"
	"math/bits"

	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// A tile is one register tile of one instruction set: mr rows (tokens) by
// nr columns (outputs) of float32 accumulators, nr/lanes registers per row.
// Its methods emit the parts that the eval and gemm kernels share.
type tile struct {
	*build.Context
	*isa
	mr, nr int
	unroll int // K steps per loop iteration, a power of two
	// bcasts rows of the tile get a[i] by VBROADCASTSS into a register,
	// spread evenly; the others (AVX-512 only) by {1to16} FMA operands.
	bcasts int
}

func newTile(c *build.Context, x *isa, mr, nr, unroll, bcasts int) *tile {
	t := &tile{Context: c, isa: x, mr: mr, nr: nr, unroll: unroll, bcasts: bcasts}
	// The generic twin needs mr even and nr a multiple of 4; maxTile
	// (kernel_generic.go) bounds mr·nr.
	if mr < 2 || mr%2 != 0 || nr < x.lanes || nr%x.lanes != 0 || mr*nr > 512 ||
		unroll < 1 || bits.OnesCount(uint(unroll)) != 1 ||
		bcasts < 1 || bcasts > mr || (x.lanes != 16 && bcasts != mr) {
		panic(fmt.Sprintf("%s: bad tile %dx%d (unroll %d, %d broadcasts)", x.name, mr, nr, unroll, bcasts))
	}
	if t.loopRegs() > x.regs {
		panic(fmt.Sprintf("%s: tile %dx%d needs %d of %d vector registers",
			x.name, mr, nr, t.loopRegs(), x.regs))
	}
	return t
}

// kernelName is the kernel's name for the given kind: evalAVX2_6x16.
func (t *tile) kernelName(kind string) string {
	return fmt.Sprintf("%s%s_%dx%d", kind, t.isa.name, t.mr, t.nr)
}

// vecsPerRow is the number of vector registers across one row.
func (t *tile) vecsPerRow() int { return t.nr / t.lanes }

// rowBytes is the size of one packed row of w (nr float32).
func (t *tile) rowBytes() int { return 4 * t.nr }

// loopRegs is the K loop's register budget: mr·nr/lanes accumulators, one
// row of w, one broadcast activation.
func (t *tile) loopRegs() int { return t.mr*t.vecsPerRow() + t.vecsPerRow() + 1 }

// budget comments the K loop's register budget.
func (t *tile) budget() {
	t.Commentf("Register budget: %d accumulators + %d w + 1 broadcast = %d of %d %s.",
		t.mr*t.vecsPerRow(), t.vecsPerRow(), t.loopRegs(), t.regs, t.regName())
}

// accumulators allocates the mr × nr/lanes accumulator registers.
func (t *tile) accumulators() [][]reg.VecVirtual {
	acc := make([][]reg.VecVirtual, t.mr)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, t.vecsPerRow())
		for j := range acc[i] {
			acc[i][j] = t.vec(t.Context)
		}
	}
	return acc
}

func (t *tile) zeroAll(acc [][]reg.VecVirtual) {
	for _, row := range acc {
		for _, v := range row {
			t.zero(t.Context, v)
		}
	}
}

// prefetch is a stream of cache lines a K loop prefetches: the line at
// ptr, then ptr advances by step bytes a K step.
type prefetch struct{ ptr, step reg.GPVirtual }

// kloop emits the K loop: n times (n may be zero; n is consumed), acc +=
// the next packed row of a (mr floats at a, a advances) times a row of w.
// With idx, the row is w[idx[p]] (idx advances); without, w is contiguous
// and advances. With pf, each loop iteration also prefetches pf's line for
// its first step (one line for unroll steps: a prefetch and a pointer
// step each K step took the AVX2 tile past Haswell's four µops a cycle).
// The loop body holds unroll steps (a power of two), followed by a one-step
// loop for the remaining n mod unroll. label names the loop's labels,
// unique in the function.
func (t *tile) kloop(label string, n, a, w, idx reg.GPVirtual, pf *prefetch, acc [][]reg.VecVirtual) {
	u := t.unroll
	done := label + "_done"
	if u > 1 {
		loop, tail := label+"_loop", label+"_tail"
		cnt := t.GP64()
		t.MOVQ(n, cnt)
		t.SHRQ(U8(bits.TrailingZeros(uint(u))), cnt)
		t.JZ(LabelRef(tail)) // if n < unroll: tail only
		t.Label(loop)
		t.prefetchNext(pf, u)
		for s := range u {
			t.kstep(s, a, w, idx, acc)
		}
		t.advance(u, a, w, idx)
		t.DECQ(cnt)
		t.JNZ(LabelRef(loop))
		t.Label(tail)
		t.ANDQ(U32(u-1), n)
	} else {
		t.TESTQ(n, n)
	}
	t.JZ(LabelRef(done)) // if no step is left: done
	one := label + "_one"
	t.Label(one)
	t.prefetchNext(pf, 1)
	t.kstep(0, a, w, idx, acc)
	t.advance(1, a, w, idx)
	t.DECQ(n)
	t.JNZ(LabelRef(one))
	t.Label(done)
}

// prefetchNext prefetches pf's line, if pf is not nil, and moves pf on by
// steps K steps.
func (t *tile) prefetchNext(pf *prefetch, steps int) {
	if pf == nil {
		return
	}
	t.PREFETCHT0(Mem{Base: pf.ptr})
	if steps == 1 {
		t.ADDQ(pf.step, pf.ptr)
	} else {
		t.LEAQ(Mem{Base: pf.ptr, Index: pf.step, Scale: uint8(steps)}, pf.ptr)
	}
}

// kstep emits step s of the loop body: acc += a[s·mr : s·mr+mr] (as
// columns) × the row of w for packed row s.
func (t *tile) kstep(s int, a, w, idx reg.GPVirtual, acc [][]reg.VecVirtual) {
	row := Mem{Base: w}.Offset(s * t.rowBytes())
	if idx != nil {
		// row = w + idx[s]·nr·4
		r := t.GP64()
		t.MOVLQSX(Mem{Base: idx}.Offset(4*s), r)
		if rb := t.rowBytes(); bits.OnesCount(uint(rb)) == 1 {
			t.SHLQ(U8(bits.TrailingZeros(uint(rb))), r)
		} else {
			t.IMUL3Q(U32(rb), r, r)
		}
		row = Mem{Base: w, Index: r, Scale: 1}
	}
	b := make([]reg.VecVirtual, t.vecsPerRow())
	for j := range b {
		b[j] = t.vec(t.Context)
		t.VMOVUPS(row.Offset(j*t.vecBytes()), b[j])
	}
	bc := t.vec(t.Context)
	for i := range t.mr {
		ai := Mem{Base: a}.Offset(4 * (s*t.mr + i))
		if !t.regBcast(i) {
			for j := range b {
				t.VFMADD231PS_BCST(ai, b[j], acc[i][j])
			}
			continue
		}
		t.VBROADCASTSS(ai, bc)
		for j := range b {
			t.VFMADD231PS(b[j], bc, acc[i][j])
		}
	}
}

// regBcast reports whether row i's a[i] is broadcast into a register: for
// bcasts of mr rows, the rows where i·bcasts/mr steps up.
func (t *tile) regBcast(i int) bool { return i*t.bcasts/t.mr != (i+1)*t.bcasts/t.mr }

// advance moves a, and idx or w, on by steps packed rows.
func (t *tile) advance(steps int, a, w, idx reg.GPVirtual) {
	t.ADDQ(U32(4*t.mr*steps), a)
	if idx != nil {
		t.ADDQ(U32(4*steps), idx)
	} else {
		t.ADDQ(U32(t.rowBytes()*steps), w)
	}
}
