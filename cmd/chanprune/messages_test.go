package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// An empty element of --ratios is named by its position, not "required".
func TestRatiosEmptyElement(t *testing.T) {
	f := newFixture(t)
	code, _, stderr := runCLI(t, "sweep", "--weight", f.w, "--scores", "a="+f.s, "--ratios", "0.1,,0.2", f.x0)
	if code != 1 || !strings.Contains(stderr, "ratio 2 of 3 is empty") || strings.Contains(stderr, "required") {
		t.Errorf("exit %d, %q; want the second ratio named empty", code, stderr)
	}
}

// --ratio -0 is 0 in every output: no "-0" in JSON, CSV or text.
func TestNegativeZeroRatio(t *testing.T) {
	f := newFixture(t)
	for _, args := range [][]string{
		append(f.args("-0", f.x0), "--format", "json"),
		{"sweep", "--weight", f.w, "--scores", "a=" + f.s, "--ratios", "-0,0.5", "--format", "json", f.x0},
		{"sweep", "--weight", f.w, "--scores", "a=" + f.s, "--ratios", "-0", "--format", "csv", f.x0},
		{"sweep", "--weight", f.w, "--scores", "a=" + f.s, "--ratios", "-0", f.x0},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || regexp.MustCompile(`(^|[^0-9.e])-0([^.0-9]|$)`).MatchString(stdout) {
			t.Errorf("%v: exit %d %s\n%s", args, code, stderr, stdout)
		}
	}
}

// eval's text names the batch with the worst rmse and, separately, the one
// with the worst cosine: here a large batch (worst rmse) and a small one
// whose direction the pruning changes most (worst cosine).
func TestEvalWorstBatches(t *testing.T) {
	f := newFixture(t)
	big := writeNpy(t, f.dir, "big.npy", []int{4, 6}, fill(24, func(i int) float32 { return 100 * float32(i%3-1) }))
	args := []string{"eval", "--weight", f.w, "--scores", f.s, "--ratio", "0.5", f.x0, big}
	code, stdout, stderr := runCLI(t, append(args, "--format", "json")...)
	var got evalJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	worstRMSE, worstCos := got.PerBatch[0], got.PerBatch[0]
	for _, b := range got.PerBatch {
		if b.RMSE > worstRMSE.RMSE {
			worstRMSE = b
		}
		if b.CosineSimilarity < worstCos.CosineSimilarity {
			worstCos = b
		}
	}
	if worstRMSE.File == worstCos.File {
		t.Fatalf("the fixture's worst batches coincide (%s): %+v", worstRMSE.File, got.PerBatch)
	}
	code, stdout, stderr = runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"worst rmse        " + fmt.Sprintf("%.6g", worstRMSE.RMSE) + " in batch " + worstRMSE.File,
		"worst cosine      " + fmt.Sprintf("%.6g", worstCos.CosineSimilarity) + " in batch " + worstCos.File} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

// One batch of one token is "1 batch" and "1 token" in every command.
func TestSingularCounts(t *testing.T) {
	f := newFixture(t)
	one := writeNpy(t, f.dir, "one.npy", []int{1, 6}, []float32{1, 2, 3, 4, 5, 6})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{f.args("0.5", one), "1 batch, 1 token\n"},
		{[]string{"sweep", "--weight", f.w, "--scores", "a=" + f.s, "--ratios", "0.5", one}, "1 batch, kernel"},
		{[]string{"score", "--method", "l2norm", "--weight", f.w, "--out", filepath.Join(f.dir, "o.npy"), one}, "over 1 batch,"},
	} {
		code, stdout, stderr := runCLI(t, tc.args...)
		if code != 0 || !strings.Contains(stdout, tc.want) || strings.Contains(stdout, "1 batches") {
			t.Errorf("%v: exit %d %s; want %q in\n%s", tc.args, code, stderr, tc.want, stdout)
		}
	}
}

// --calibration takes Model-Optimizer's spelling as well as ours, with the
// same scores, and refuses anything else in the CLI's terms.
func TestCalibrationSpellings(t *testing.T) {
	f := newFixture(t)
	score := func(calibration, out string) (int, string) {
		code, _, stderr := runCLI(t, "score", "--method", "iterative", "--calibration", calibration,
			"--weight", f.w, "--bias", f.b, "--out", filepath.Join(f.dir, out), f.x0, f.x1)
		return code, stderr
	}
	for _, c := range []string{"scale-by-magnitude", "scale_by_magnitude"} {
		if code, stderr := score(c, c+".npy"); code != 0 {
			t.Fatalf("--calibration %s: exit %d %s", c, code, stderr)
		}
	}
	a, _ := os.ReadFile(filepath.Join(f.dir, "scale-by-magnitude.npy"))
	b, _ := os.ReadFile(filepath.Join(f.dir, "scale_by_magnitude.npy"))
	if len(a) == 0 || string(a) != string(b) {
		t.Errorf("the two spellings scored differently")
	}
	code, stderr := score("magnitude", "bad.npy")
	if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "--calibration") ||
		!strings.Contains(stderr, "scale_by_magnitude") || strings.Contains(stderr, "Calibration") || strings.Contains(stderr, `""`) {
		t.Errorf("--calibration magnitude: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "score", "--method", "l2norm", "--calibration", "scale-by-magnitude",
		"--weight", f.w, "--out", filepath.Join(f.dir, "l2.npy"), f.x0)
	if code != 1 || !strings.Contains(stderr, "--method iterative") || strings.Contains(stderr, "Calibration") {
		t.Errorf("--calibration with l2norm: exit %d, %q", code, stderr)
	}
}

// An output that cannot be staged is named as the user gave it, never by
// its temporary's name: here a name whose temporary is too long for the
// file system.
func TestOutputErrorNamesUserPath(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(f.dir, strings.Repeat("s", 240)+".npy")
	code, _, stderr := runCLI(t, "score", "--method", "l2norm", "--weight", f.w, "--out", out, f.x0)
	if code != 1 || !errLine.MatchString(stderr) || strings.Contains(stderr, "chanprune-tmp") || !strings.Contains(stderr, "--out "+out) {
		t.Errorf("exit %d, %q; want the --out path named and no temporary", code, stderr)
	}
}

// A file that cannot be opened is named once, as the argument gave it, not
// again by the system's error.
func TestFileNamedOnce(t *testing.T) {
	f := newFixture(t)
	gone := filepath.Join(f.dir, "gone.npy")
	for _, tc := range []struct {
		args []string
		name string
	}{
		{[]string{"eval", "--weight", f.w, "--scores", gone, "--ratio", "0.5", f.x0}, gone},
		{f.args("0.5", gone), gone},
		{f.args("0.5", f.dir), f.dir},
		{[]string{"eval", "--weight", f.dir, "--scores", f.s, "--ratio", "0.5", f.x0}, f.dir},
		{[]string{"score", "--method", "l2norm", "--weight", f.w, "--resume", gone, "--out", filepath.Join(f.dir, "o.npy"), f.x0}, gone},
		{[]string{"report", filepath.Join(f.dir, "gone.yaml")}, filepath.Join(f.dir, "gone.yaml")},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != 1 || !errLine.MatchString(stderr) || strings.Count(stderr, tc.name) != 1 {
			t.Errorf("%v: exit %d, %q; want %s named once", tc.args, code, stderr, tc.name)
		}
	}
}
