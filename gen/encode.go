package main

import "fmt"

// Encodings of the A64 Advanced SIMD instructions that Go's arm64 assembler
// rejects. Each returns the instruction word, emitted as WORD, and its
// mnemonic in Arm syntax (destination first), written beside it. The base
// words are from the Arm ARM and were checked against
// `llvm-mc -triple=aarch64 -show-encoding` (see encode_test.go).

// vreg is a SIMD register V0..V31.
type vreg int

func (v vreg) check() {
	if v < 0 || v > 31 {
		panic(fmt.Sprintf("no register V%d", int(v)))
	}
}

// S4 and D2 name the register with an arrangement, in Go's syntax.
func (v vreg) S4() string { v.check(); return fmt.Sprintf("V%d.S4", int(v)) }
func (v vreg) D2() string { v.check(); return fmt.Sprintf("V%d.D2", int(v)) }

// F names lane 0 as a scalar register, in Go's syntax.
func (v vreg) F() string { v.check(); return fmt.Sprintf("F%d", int(v)) }

// B16 names the register as 16 bytes, in Go's syntax.
func (v vreg) B16() string { v.check(); return fmt.Sprintf("V%d.B16", int(v)) }

// word is one encoded instruction and its Arm mnemonic.
type word struct {
	bits uint32
	text string
}

// rrr encodes the three-register forms: base | m<<16 | n<<5 | d.
func rrr(base uint32, d, n, m vreg) uint32 {
	d.check()
	n.check()
	m.check()
	return base | uint32(m)<<16 | uint32(n)<<5 | uint32(d)
}

// fmlaElem is fmla vd.4s, vn.4s, vm.s[lane]: vd += vn · vm[lane]. For
// single precision the M bit (bit 20) is the top bit of m, so every V
// register may hold the element; the lane is H:L (bits 11, 21).
func fmlaElem(d, n, m vreg, lane int) word {
	if lane < 0 || lane > 3 {
		panic(fmt.Sprintf("no lane %d in a .4s register", lane))
	}
	bits := rrr(0x4f801000, d, n, m) | uint32(lane&1)<<21 | uint32(lane>>1)<<11
	return word{bits, fmt.Sprintf("fmla v%d.4s, v%d.4s, v%d.s[%d]", d, n, m, lane)}
}

// faddS4 is fadd vd.4s, vn.4s, vm.4s.
func faddS4(d, n, m vreg) word {
	return word{rrr(0x4e20d400, d, n, m), fmt.Sprintf("fadd v%d.4s, v%d.4s, v%d.4s", d, n, m)}
}

// faddD2 is fadd vd.2d, vn.2d, vm.2d.
func faddD2(d, n, m vreg) word {
	return word{rrr(0x4e60d400, d, n, m), fmt.Sprintf("fadd v%d.2d, v%d.2d, v%d.2d", d, n, m)}
}

// fmulD2 is fmul vd.2d, vn.2d, vm.2d.
func fmulD2(d, n, m vreg) word {
	return word{rrr(0x6e60dc00, d, n, m), fmt.Sprintf("fmul v%d.2d, v%d.2d, v%d.2d", d, n, m)}
}

// fmulS4 is fmul vd.4s, vn.4s, vm.4s.
func fmulS4(d, n, m vreg) word {
	return word{rrr(0x6e20dc00, d, n, m), fmt.Sprintf("fmul v%d.4s, v%d.4s, v%d.4s", d, n, m)}
}

// faddpD2 is faddp vd.2d, vn.2d, vm.2d: vd = [vn[0]+vn[1], vm[0]+vm[1]].
func faddpD2(d, n, m vreg) word {
	return word{rrr(0x6e60d400, d, n, m), fmt.Sprintf("faddp v%d.2d, v%d.2d, v%d.2d", d, n, m)}
}

// faddpS4 is faddp vd.4s, vn.4s, vm.4s: vd = [vn[0]+vn[1], vn[2]+vn[3],
// vm[0]+vm[1], vm[2]+vm[3]].
func faddpS4(d, n, m vreg) word {
	return word{rrr(0x6e20d400, d, n, m), fmt.Sprintf("faddp v%d.4s, v%d.4s, v%d.4s", d, n, m)}
}

// faddpD is faddp dd, vn.2d: the scalar dd = vn[0] + vn[1].
func faddpD(d, n vreg) word {
	return word{rrr(0x7e70d800, d, n, 0), fmt.Sprintf("faddp d%d, v%d.2d", d, n)}
}

// cmgtS4 is cmgt vd.4s, vn.4s, vm.4s: each lane all ones where vn > vm
// (signed), else zero.
func cmgtS4(d, n, m vreg) word {
	return word{rrr(0x4ea03400, d, n, m), fmt.Sprintf("cmgt v%d.4s, v%d.4s, v%d.4s", d, n, m)}
}

// fcvtl is fcvtl vd.2d, vn.2s: widens lanes 0, 1 of vn to float64.
func fcvtl(d, n vreg) word {
	return word{rrr(0x0e617800, d, n, 0), fmt.Sprintf("fcvtl v%d.2d, v%d.2s", d, n)}
}

// fcvtl2 is fcvtl2 vd.2d, vn.4s: widens lanes 2, 3 of vn to float64.
func fcvtl2(d, n vreg) word {
	return word{rrr(0x4e617800, d, n, 0), fmt.Sprintf("fcvtl2 v%d.2d, v%d.4s", d, n)}
}

// fcvtlH is fcvtl vd.4s, vn.4h: widens the four float16 lanes 0–3 of vn to
// float32.
func fcvtlH(d, n vreg) word {
	return word{rrr(0x0e217800, d, n, 0), fmt.Sprintf("fcvtl v%d.4s, v%d.4h", d, n)}
}

// sxtl is sxtl vd.2d, vn.2s (sshll #0): sign-extends lanes 0, 1 of vn to
// 64 bits, so a .4s compare mask becomes a .2d one.
func sxtl(d, n vreg) word {
	return word{rrr(0x0f20a400, d, n, 0), fmt.Sprintf("sxtl v%d.2d, v%d.2s", d, n)}
}

// sxtl2 is sxtl2 vd.2d, vn.4s (sshll2 #0): sign-extends lanes 2, 3 of vn.
func sxtl2(d, n vreg) word {
	return word{rrr(0x4f20a400, d, n, 0), fmt.Sprintf("sxtl2 v%d.2d, v%d.4s", d, n)}
}
