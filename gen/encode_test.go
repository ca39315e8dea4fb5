package main

import "testing"

// The expected words were produced by llvm-mc -triple=aarch64 -show-encoding.
func TestEncodings(t *testing.T) {
	for _, tc := range []struct {
		w    word
		bits uint32
		text string
	}{
		{fmlaElem(8, 2, 0, 0), 0x4f801048, "fmla v8.4s, v2.4s, v0.s[0]"},
		{fmlaElem(31, 4, 1, 3), 0x4fa1189f, "fmla v31.4s, v4.4s, v1.s[3]"},
		{fmlaElem(9, 3, 1, 2), 0x4f811869, "fmla v9.4s, v3.4s, v1.s[2]"},
		{fmlaElem(16, 17, 20, 1), 0x4fb41230, "fmla v16.4s, v17.4s, v20.s[1]"},
		{faddS4(8, 8, 0), 0x4e20d508, "fadd v8.4s, v8.4s, v0.4s"},
		{faddD2(4, 5, 6), 0x4e66d4a4, "fadd v4.2d, v5.2d, v6.2d"},
		{faddpD2(0, 4, 5), 0x6e65d480, "faddp v0.2d, v4.2d, v5.2d"},
		{fcvtl(1, 0), 0x0e617801, "fcvtl v1.2d, v0.2s"},
		{fcvtl(24, 5), 0x0e6178b8, "fcvtl v24.2d, v5.2s"},
		{faddpS4(0, 1, 2), 0x6e22d420, "faddp v0.4s, v1.4s, v2.4s"},
		{faddpS4(24, 24, 24), 0x6e38d718, "faddp v24.4s, v24.4s, v24.4s"},
		{faddpD(16, 16), 0x7e70da10, "faddp d16, v16.2d"},
		{faddpD(3, 29), 0x7e70dba3, "faddp d3, v29.2d"},
		{cmgtS4(5, 0, 5), 0x4ea53405, "cmgt v5.4s, v0.4s, v5.4s"},
		{cmgtS4(31, 17, 2), 0x4ea2363f, "cmgt v31.4s, v17.4s, v2.4s"},
		{fcvtl2(1, 0), 0x4e617801, "fcvtl2 v1.2d, v0.4s"},
		{fmulD2(1, 2, 3), 0x6e63dc41, "fmul v1.2d, v2.2d, v3.2d"},
		{fcvtlH(3, 0), 0x0e217803, "fcvtl v3.4s, v0.4h"},
		{fmulS4(1, 2, 3), 0x6e23dc41, "fmul v1.4s, v2.4s, v3.4s"},
		{sxtl(1, 2), 0x0f20a441, "sxtl v1.2d, v2.2s"},
		{sxtl(5, 6), 0x0f20a4c5, "sxtl v5.2d, v6.2s"},
		{sxtl2(3, 4), 0x4f20a483, "sxtl2 v3.2d, v4.4s"},
		{sxtl2(31, 17), 0x4f20a63f, "sxtl2 v31.2d, v17.4s"},
	} {
		if tc.w.bits != tc.bits || tc.w.text != tc.text {
			t.Errorf("got %#08x %q, want %#08x %q", tc.w.bits, tc.w.text, tc.bits, tc.text)
		}
	}
}

// The statements laid out by asmfmt: this pins the layout the kernels get
// on a small program.
func TestFormat(t *testing.T) {
	var a asm
	a.comment("Code generated. DO NOT EDIT.")
	a.blank()
	a.comment("go:build x")
	a.blank()
	a.ins("#include", `"textflag.h"`)
	a.blank()
	a.comment("func f()")
	a.ins("TEXT", "·f(SB), NOSPLIT, $0-8")
	a.ins("MOVD", "n+0(FP), R0")
	a.word(faddS4(8, 8, 0))
	a.label("loop")
	a.insc("VFMLA", "V0.D2, V1.D2, V2.D2", "x")
	a.ins("BNE", "loop")
	a.ins("RET", "")
	want := "// Code generated. DO NOT EDIT.\n\n//go:build x\n\n#include \"textflag.h\"\n\n" +
		"// func f()\nTEXT ·f(SB), NOSPLIT, $0-8\n" +
		"\tMOVD n+0(FP), R0\n\tWORD $0x4e20d508 // fadd v8.4s, v8.4s, v0.4s\n\n" +
		"loop:\n\tVFMLA V0.D2, V1.D2, V2.D2 // x\n\tBNE   loop\n\tRET\n"
	got, err := a.format()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
