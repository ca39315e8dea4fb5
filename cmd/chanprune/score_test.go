package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/tensorfile"
)

// readScores reads a scores file the command wrote: float32 [in].
func readScores(t *testing.T, path string, in int) []float32 {
	t.Helper()
	a, err := tensorfile.Read(tensorfile.Ref{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Shape, []int{in}) {
		t.Fatalf("%s: shape %v, want [%d]", path, a.Shape, in)
	}
	return a.Data
}

func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// Every estimator's scores from the command are the library's, over the
// fixture's [2, 3, 6] and [4, 6] batches.
func TestScoreMethods(t *testing.T) {
	f := newFixture(t)
	read := func(path string) *tensorfile.Array {
		a, err := tensorfile.Read(tensorfile.Ref{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	w, b := read(f.w), read(f.b)
	layer := chanprune.Linear{Weight: w.Data, Bias: b.Data, Out: 5, In: 6}
	for _, name := range chanprune.EstimatorNames() {
		out := filepath.Join(f.dir, name+".npy")
		args := []string{"score", "--method", name, "--weight", f.w, "--bias", f.b, "--out", out, f.x0, f.x1}
		opts := chanprune.EstimatorOptions{}
		switch name {
		case "iterative":
			opts.Iterations = 2
		case "random":
			args, opts.Seed = append(args, "--seed", "3"), 3
		case "kv-head-contribution": // one head per channel: 6 scores
			args, opts.Heads, opts.KVHeads = append(args, "--heads", "6", "--kv-heads", "6"), 6, 6
		}
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || stderr != "" || !strings.Contains(stdout, name) || !strings.Contains(stdout, out) {
			t.Fatalf("%s: exit %d: %s\n%s", name, code, stderr, stdout)
		}
		e, err := chanprune.NewEstimator(name, layer, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []string{f.x0, f.x1} {
			a := read(x)
			if err := e.Observe(a.Data, a.Shape); err != nil {
				t.Fatal(err)
			}
		}
		want, err := e.Scores()
		if err != nil {
			t.Fatal(err)
		}
		if got := readScores(t, out, 6); !sameBits(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
}

// A run saved with --state and continued with --resume writes the scores
// of one uninterrupted run.
func TestScoreResume(t *testing.T) {
	f := newFixture(t)
	x2 := writeNpy(t, f.dir, "x2.npy", []int{3, 1, 6}, fill(18, func(i int) float32 { return float32(i%4) - 1.5 }))
	for _, tc := range []struct {
		method string
		flags  []string
	}{
		{"iterative", []string{"--iterations", "3", "--calibration", "scale-by-magnitude"}},
		{"fluctuation", nil},
	} {
		whole, part := filepath.Join(f.dir, "whole.npy"), filepath.Join(f.dir, "part.npy")
		state := filepath.Join(f.dir, tc.method+".json")
		layer := []string{"--weight", f.w, "--bias", f.b}
		runs := [][]string{
			append(append(append([]string{"score", "--method", tc.method, "--out", whole}, layer...), tc.flags...), f.x0, f.x1, x2),
			append(append(append([]string{"score", "--method", tc.method, "--state", state}, layer...), tc.flags...), f.x0),
			append(append([]string{"score", "--resume", state, "--state", state}, layer...), f.x1),
			append(append([]string{"score", "--resume", state, "--method", tc.method, "--out", part}, layer...), x2),
		}
		for _, args := range runs {
			if code, stdout, stderr := runCLI(t, args...); code != 0 {
				t.Fatalf("%v: exit %d: %s\n%s", args, code, stderr, stdout)
			}
		}
		if a, b := readScores(t, whole, 6), readScores(t, part, 6); !sameBits(a, b) {
			t.Errorf("%s: resumed %v, uninterrupted %v", tc.method, b, a)
		}
	}
}

func TestScoreBadInputs(t *testing.T) {
	f := newFixture(t)
	d := f.dir
	out := filepath.Join(d, "s_out.npy")
	base := []string{"score", "--weight", f.w, "--bias", f.b, "--out", out}
	with := func(args ...string) []string { return append(slices.Clone(base), args...) }
	state := filepath.Join(d, "state.json")
	if code, _, stderr := runCLI(t, "score", "--method", "l2norm", "--weight", f.w, "--bias", f.b, "--state", state, f.x0); code != 0 {
		t.Fatalf("saving a state: %s", stderr)
	}
	otherW := writeNpy(t, d, "W2.npy", []int{5, 6}, fill(30, func(i int) float32 { return float32(i) }))
	nanx := writeNpy(t, d, "nanx.npy", []int{2, 6}, []float32{0, 0, 0, 0, 0, 0, 0, float32(math.NaN()), 0, 0, 0, 0})
	for _, tc := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"no method", with(f.x0), "--method is required"},
		{"unknown method", with("--method", "l3norm", f.x0), "l3norm"},
		{"bad calibration", with("--method", "iterative", "--calibration", "by-magnitude", f.x0), "scale_by_magnitude"},
		{"calibration elsewhere", with("--method", "l2norm", "--calibration", "scale-by-magnitude", f.x0), "only --method iterative"},
		{"seed elsewhere", with("--method", "magnitude", "--seed", "4", f.x0), "only random"},
		{"bad iterations", with("--method", "iterative", "--iterations", "0", f.x0), "Iterations 0"},
		{"no out", []string{"score", "--method", "l2norm", "--weight", f.w, f.x0}, "--out"},
		{"no weight", []string{"score", "--method", "l2norm", "--out", out, f.x0}, "--weight"},
		{"rank 1 batch", with("--method", "l2norm", writeNpy(t, d, "r1.npy", []int{6}, make([]float32, 6))), "r1.npy"},
		{"rank 4 batch", with("--method", "wanda-sp", writeNpy(t, d, "r4.npy", []int{1, 1, 1, 6}, make([]float32, 6))), "r4.npy: wanda-sp: shape [1 1 1 6]"},
		{"batch does not fit W", with("--method", "l2norm", writeNpy(t, d, "wide.npy", []int{2, 7}, make([]float32, 14))), "wide.npy"},
		{"zero-row batch", with("--method", "l2norm", writeNpy(t, d, "empty.npy", []int{0, 6}, nil)), "empty.npy"},
		{"NaN activation", with("--method", "fluctuation", f.x0, nanx), "nanx.npy: fluctuation: activation [1, 1] is NaN"},
		{"missing batch", with("--method", "l2norm", filepath.Join(d, "gone.npy")), "gone.npy"},
		{"beyond the iterations", with("--method", "iterative", "--iterations", "1", f.x0, f.x1), "x1.npy: iterative: batch 1 is beyond"},
		{"no batches", with("--method", "l2norm"), "no activation batches"},
		{"no batches for iterative", with("--method", "iterative"), "no activation batches"},
		{"missing state", with("--resume", filepath.Join(d, "nope.json"), f.x1), "--resume"},
		{"state of another layer", []string{"score", "--weight", otherW, "--resume", state, "--out", out, f.x1}, "another layer"},
		{"state and options", with("--resume", state, "--seed", "2", f.x1), "--seed"},
		{"state and damp", with("--resume", state, "--damp", "0.5", f.x1), "--damp: the options come from the state"},
		{"state of another method", with("--resume", state, "--method", "wanda-sp", f.x1), "holds the state of l2norm"},
		{"unknown layout", with("--method", "l2norm", "--layout", "bsh", f.x0), `--layout "bsh": want seq-first or batch-first`},
		{"state of another layout", with("--resume", state, "--layout", "batch-first", f.x1), "read its batches seq-first: give --layout seq-first"},
		{"state not JSON", with("--resume", f.w, f.x1), "--resume"},
		{"state directory missing", with("--method", "l2norm", "--state", filepath.Join(d, "no", "s.json"), f.x0), "--state"},
		{"out directory missing", []string{"score", "--method", "l2norm", "--weight", f.w, "--out", filepath.Join(d, "no", "s.npy"), f.x0}, "--out"},
		{"out named safetensors", []string{"score", "--method", "l2norm", "--weight", f.w, "--out", filepath.Join(d, "s.safetensors"), f.x0}, "give it a .npy name"},
		{"unknown flag", with("--method", "l2norm", "--frobnicate", f.x0), "frobnicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line naming %q", code, stderr, stdout, tc.mention)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed run wrote %s", out)
	}
}
