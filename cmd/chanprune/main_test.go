package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/internal/npy"
)

// binPath is the chanprune command, built once for the tests; empty where
// the built binary cannot be started (a cross-architecture test run under
// qemu-user with no binfmt handler), and then commands run in-process.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chanprune-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "chanprune")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building chanprune: %v\n%s", err, out)
		os.Exit(1)
	}
	if err := exec.Command(binPath, "help").Run(); err != nil {
		fmt.Printf("cannot start the built command (%v): running commands in-process\n", err)
		binPath = ""
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runCLI runs the built command and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if binPath == "" {
		code = run(args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	cmd := exec.Command(binPath, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

func writeNpy(t *testing.T, dir, name string, shape []int, data []float32) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := npy.WriteFile(path, shape, data); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeBytes(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rawNpy builds a version 1.0 .npy file with any header dict and data.
func rawNpy(dict string, data []byte) []byte {
	hdr := dict + strings.Repeat(" ", 63-(10+len(dict))%64) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(hdr)))
	return append(append(b, hdr...), data...)
}

// within reports whether |x| ≤ tol; false for a NaN, which a check
// written as |x| > tol would let pass.
func within(x, tol float64) bool { return math.Abs(x) <= tol }

func fill(n int, f func(i int) float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = f(i)
	}
	return x
}

// fixture writes a small layer (in 6, out 5), scores and two batches.
type fixture struct{ dir, w, b, s, x0, x1 string }

func newFixture(t *testing.T) fixture {
	dir := t.TempDir()
	return fixture{
		dir: dir,
		w:   writeNpy(t, dir, "W.npy", []int{5, 6}, fill(30, func(i int) float32 { return float32(i%7) - 3 })),
		b:   writeNpy(t, dir, "b.npy", []int{5}, fill(5, func(i int) float32 { return float32(i) / 4 })),
		s:   writeNpy(t, dir, "s.npy", []int{6}, []float32{3, 1, 4, 1, 5, 9}),
		x0:  writeNpy(t, dir, "x0.npy", []int{2, 3, 6}, fill(36, func(i int) float32 { return float32(i%5) - 2 })),
		x1:  writeNpy(t, dir, "x1.npy", []int{4, 6}, fill(24, func(i int) float32 { return float32(i%3) - 1 })),
	}
}

func (f fixture) args(ratio string, batches ...string) []string {
	return append([]string{"eval", "--weight", f.w, "--bias", f.b, "--scores", f.s, "--ratio", ratio}, batches...)
}

var errLine = regexp.MustCompile(`^chanprune: [^\n]+\n$`)

func TestEvalBadInputs(t *testing.T) {
	f := newFixture(t)
	d := f.dir
	nanScores := writeNpy(t, d, "nan.npy", []int{6}, []float32{1, 2, float32(math.NaN()), 4, 5, 6})
	f32 := make([]byte, 4*6)
	for _, tc := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"missing file", f.args("0.5", filepath.Join(d, "nope.npy")), "nope.npy"},
		{"not an npy", f.args("0.5", writeBytes(t, d, "text.npy", []byte("hello, world\n"))), "text.npy"},
		{"truncated data", f.args("0.5", writeBytes(t, d, "trunc.npy",
			rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 6), }", f32))), "trunc.npy"},
		{"header longer than data", f.args("0.5", writeBytes(t, d, "long.npy",
			rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 6), }", append(f32, 1, 2, 3, 4)))), "long.npy"},
		{"huge header", f.args("0.5", writeBytes(t, d, "huge.npy",
			rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", f32))), "huge.npy"},
		{"batch does not fit W", f.args("0.5", writeNpy(t, d, "wide.npy", []int{2, 7}, make([]float32, 14))), "wide.npy"},
		{"zero-row batch", f.args("0.5", writeNpy(t, d, "empty.npy", []int{0, 6}, nil)), "empty.npy"},
		{"NaN activation", f.args("0.5", f.x0, writeNpy(t, d, "nanx.npy", []int{1, 6}, []float32{0, 0, float32(math.Inf(-1)), 0, 0, 0})), "nanx.npy"},
		// read in one group with the batches around it (observeBatches)
		{"NaN activation amid batches", f.args("0.5", f.x0, writeNpy(t, d, "nanmid.npy", []int{1, 6}, []float32{0, float32(math.NaN()), 0, 0, 0, 0}), f.x1, f.x0), "nanmid.npy"},
		{"unsupported dtype", f.args("0.5", writeBytes(t, d, "int.npy",
			rawNpy("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 6), }", f32))), "int.npy"},
		{"weight not 2-D", []string{"eval", "--weight", f.s, "--scores", f.s, "--ratio", "0.5", f.x0}, "s.npy"},
		{"bias of wrong length", []string{"eval", "--weight", f.w, "--bias", f.s, "--scores", f.s, "--ratio", "0.5", f.x0}, "--bias"},
		{"scores of wrong length", []string{"eval", "--weight", f.w, "--scores", f.b, "--ratio", "0.5", f.x0}, "--scores"},
		{"NaN score", []string{"eval", "--weight", f.w, "--scores", nanScores, "--ratio", "0.5", f.x0}, "scores[2]"},
		{"ratio above one", f.args("1.5", f.x0), "--ratio"},
		{"negative ratio", f.args("-0.1", f.x0), "--ratio"},
		{"NaN ratio", f.args("NaN", f.x0), "--ratio"},
		{"ratio not a number", f.args("half", f.x0), "--ratio"},
		{"no ratio", []string{"eval", "--weight", f.w, "--scores", f.s, f.x0}, "--ratio"},
		{"no weight", []string{"eval", "--scores", f.s, "--ratio", "0.5", f.x0}, "--weight"},
		{"no batches", f.args("0.5"), "batches"},
		{"bad format", append(f.args("0.5", f.x0), "--format", "xml"), "--format"},
		{"unknown flag", append(f.args("0.5", f.x0), "--frobnicate"), "frobnicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line naming %q", code, stderr, stdout, tc.mention)
			}
		})
	}
}

func TestEvalConformanceJSON(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "conformance", "seed_shape_small")
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Ratio   float64 `json:"ratio"`
		Batches int     `json:"batches"`
		F64     evalJSON
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	args := []string{"eval", "--format", "json", "--weight", filepath.Join(dir, "W.npy"), "--bias", filepath.Join(dir, "b.npy"),
		"--scores", filepath.Join(dir, "scores.npy"), "--ratio", fmt.Sprint(want.Ratio)}
	for i := range want.Batches {
		args = append(args, filepath.Join(dir, fmt.Sprintf("acts_%d.npy", i)))
	}
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got evalJSON
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	if !within(got.RMSE-want.F64.RMSE, 1e-5*want.F64.RMSE) || !within(got.CosineSimilarity-want.F64.CosineSimilarity, 2e-6) ||
		got.NumPruned != want.F64.NumPruned || len(got.PerBatch) != want.Batches {
		t.Errorf("got %+v, want %+v", got, want.F64)
	}
}

func TestEvalText(t *testing.T) {
	f := newFixture(t)
	code, stdout, stderr := runCLI(t, append(f.args("0.5", f.x0), f.x1)...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"6 → 5, 2 batches, 10 tokens", "pruned            3 of 6", "rmse", "cosine_similarity", "kernel"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestKernelsAndDemo(t *testing.T) {
	code, stdout, _ := runCLI(t, "kernels")
	if code != 0 || !regexp.MustCompile(`(?m)^generic +yes`).MatchString(stdout) || !strings.Contains(stdout, "*") {
		t.Errorf("kernels: exit %d:\n%s", code, stdout)
	}
	code, stdout, stderr := runCLI(t, "demo", "--batches", "1")
	if code != 0 || !strings.Contains(stdout, "l2norm") || !strings.Contains(stdout, "kernel") {
		t.Errorf("demo: exit %d: %s\n%s", code, stderr, stdout)
	}
	if code, _, stderr := runCLI(t, "demo", "--batches", "0"); code != 1 || !errLine.MatchString(stderr) {
		t.Errorf("demo --batches 0: exit %d, %q", code, stderr)
	}
}
