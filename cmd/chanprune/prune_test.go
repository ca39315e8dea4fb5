package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/tensorfile"
)

func TestPrune(t *testing.T) {
	f := newFixture(t)
	wk, keep := filepath.Join(f.dir, "WK.npy"), filepath.Join(f.dir, "keep.npy")
	// Scores 3 1 4 1 5 9 at ratio 0.5: channels 1, 3 (the two 1s) and 0 go.
	code, stdout, stderr := runCLI(t, "prune", "--weight", f.w, "--bias", f.b, "--scores", f.s, "--ratio", "0.5",
		"--out-weight", wk, "--out-keep", keep)
	if code != 0 || !strings.Contains(stdout, "kept 3 of 6") {
		t.Fatalf("exit %d: %s%s", code, stderr, stdout)
	}
	w, err := tensorfile.Read(tensorfile.Ref{Path: f.w})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tensorfile.Read(tensorfile.Ref{Path: wk})
	if err != nil {
		t.Fatal(err)
	}
	kept := []int{2, 4, 5}
	if len(got.Shape) != 2 || got.Shape[0] != 5 || got.Shape[1] != 3 {
		t.Fatalf("WK shape %v, want [5 3]", got.Shape)
	}
	for o := range 5 {
		for i, c := range kept {
			if got.Data[o*3+i] != w.Data[o*6+c] {
				t.Errorf("WK[%d,%d] = %v, want W[%d,%d] = %v", o, i, got.Data[o*3+i], o, c, w.Data[o*6+c])
			}
		}
	}
	b, err := os.ReadFile(keep)
	if err != nil || !strings.Contains(string(b), "'<i8'") || len(b) != 128+24 {
		t.Fatalf("keep file: %v, %d bytes", err, len(b))
	}
	for i, c := range kept {
		if b[128+8*i] != byte(c) {
			t.Errorf("keep[%d] = %d, want %d", i, b[128+8*i], c)
		}
	}
}

func TestPruneBadInputs(t *testing.T) {
	f := newFixture(t)
	out := []string{"--out-weight", filepath.Join(f.dir, "WK.npy"), "--out-keep", filepath.Join(f.dir, "keep.npy")}
	for _, tc := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"no outputs", []string{"prune", "--weight", f.w, "--scores", f.s, "--ratio", "0.5"}, "--out-weight"},
		{"bad ratio", append([]string{"prune", "--weight", f.w, "--scores", f.s, "--ratio", "2"}, out...), "--ratio"},
		{"scores of wrong length", append([]string{"prune", "--weight", f.w, "--scores", f.b, "--ratio", "0.5"}, out...), "--scores"},
		{"stray argument", append([]string{"prune", "--weight", f.w, "--scores", f.s, "--ratio", "0.5", f.x0}, out...), "x0.npy"},
		{"batches beside --fit", append([]string{"prune", "--weight", f.w, "--scores", f.s, "--ratio", "0.5", "--compensate", "bias",
			"--fit", f.x0, "--out-bias", filepath.Join(f.dir, "BK.npy"), f.x1}, out...), "x1.npy"},
		{"unwritable output", []string{"prune", "--weight", f.w, "--scores", f.s, "--ratio", "0.5",
			"--out-weight", filepath.Join(f.dir, "no", "such", "dir", "WK.npy"), "--out-keep", filepath.Join(f.dir, "k.npy")}, "--out-weight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line naming %q", code, stderr, stdout, tc.mention)
			}
		})
	}
}
