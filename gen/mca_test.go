package main

import (
	"strings"
	"testing"
)

// The translations were checked with llvm-mc -triple=aarch64 against the
// Go assembler's encodings of the Plan 9 forms.
func TestARMSyntax(t *testing.T) {
	for _, tc := range []struct{ s, want string }{
		{"MOVW.P|4(R2), R8", "ldrsw x8, [x2], #4"},
		{"ADD|R8<<1, R8, R8", "add x8, x8, x8, lsl #1"},
		{"ADD|$48, R8, R8", "add x8, x8, #48"},
		{"SUBS|$1, R3, R3", "subs x3, x3, #1"},
		{"VLD1.P|32(R0), [V0.S4, V1.S4]", "ld1 {v0.4s, v1.4s}, [x0], #32"},
		{"VLD1|(R8), [V2.S4, V3.S4, V4.S4]", "ld1 {v2.4s, v3.4s, v4.4s}, [x8]"},
		{"BNE|kept", "b.ne kept"},
	} {
		instr, params, _ := strings.Cut(tc.s, "|")
		if got, err := armSyntax(stmt{instr: instr, params: params}); err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.s, got, err, tc.want)
		}
	}
	if got, err := armSyntax(stmt{instr: "FMOVQ", params: "0(R9), F0"}); err == nil {
		t.Errorf("FMOVQ translated to %q, want an error", got)
	}
}

// The peak loop read back is fmaTile's FMAs and the loop's count and branch.
func TestMCALoop(t *testing.T) {
	sh := shape{MR, NR}
	b, err := mcaLoop(peakKernel(sh), "neon-peak")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if n := strings.Count(text, "\tfmla "); n != sh.mr*sh.nv() {
		t.Errorf("%d fmla in the peak loop, want %d:\n%s", n, sh.mr*sh.nv(), text)
	}
	for _, want := range []string{"loop:\n// LLVM-MCA-BEGIN neon-peak\n", "\tsubs x0, x0, #1\n\tb.ne loop\n// LLVM-MCA-END\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("peak loop lacks %q:\n%s", want, text)
		}
	}
}
