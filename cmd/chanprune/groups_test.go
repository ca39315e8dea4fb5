package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/internal/extcase"
	"github.com/chanprune/chanprune/tensorfile"
)

// groupCaseArgs are the --weight, --bias and group flags of a case.
func groupCaseArgs(c extcase.Group) []string {
	args := []string{"--weight", filepath.Join(c.Dir, "W.npy")}
	if c.Bias {
		args = append(args, "--bias", filepath.Join(c.Dir, "b.npy"))
	}
	return append(args, groupCaseFlags(c)...)
}

// groupCaseFlags are the --group-size and --group-reduce of a case.
func groupCaseFlags(c extcase.Group) []string {
	flags := []string{"--group-size", fmt.Sprint(c.GroupSize)}
	if c.GroupReduce != nil {
		flags = append(flags, "--group-reduce", *c.GroupReduce)
	}
	return flags
}

// checkGroupCase compares one result with the case's truth, to the
// conformance tolerances.
func checkGroupCase(t *testing.T, c extcase.Group, cmd string, rmse, cos float64, pruned, groups, size int) {
	t.Helper()
	if !within(rmse-c.F64.RMSE, 1e-5*c.F64.RMSE) || !within(cos-c.F64.CosineSimilarity, 2e-6) ||
		pruned != c.F64.NumPruned || groups != c.NumPrunedGroups || size != c.GroupSize {
		t.Errorf("%s: rmse %.10g cos %.10g, %d channels in %d groups of %d; want %.10g %.10g, %d in %d of %d",
			cmd, rmse, cos, pruned, groups, size, c.F64.RMSE, c.F64.CosineSimilarity, c.F64.NumPruned, c.NumPrunedGroups, c.GroupSize)
	}
}

// TestGroupConformanceCLI runs every group case through eval, sweep,
// report (manifest group_size and group_reduce) and prune.
func TestGroupConformanceCLI(t *testing.T) {
	cases, err := extcase.Groups(filepath.Join("..", "..", "testdata", "conformance-ext"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.Dir), func(t *testing.T) {
			ratio, scores, batches := fmt.Sprint(c.Ratio), filepath.Join(c.Dir, "scores.npy"), extcase.BatchFiles(c.Dir, c.Batches)
			args := append(append([]string{"eval", "--format", "json", "--scores", scores, "--ratio", ratio}, groupCaseArgs(c)...), batches...)
			code, stdout, stderr := runCLI(t, args...)
			var m evalJSON
			if code != 0 || json.Unmarshal([]byte(stdout), &m) != nil {
				t.Fatalf("eval: exit %d: %s%s", code, stderr, stdout)
			}
			checkGroupCase(t, c, "eval", m.RMSE, m.CosineSimilarity, m.NumPruned, m.NumPrunedGroups, m.GroupSize)
			code, stdout, stderr = runCLI(t, append([]string{"eval", "--scores", scores, "--ratio", ratio}, append(groupCaseArgs(c), batches...)...)...)
			want := fmt.Sprintf("pruned            %d of %d input channels (ratio %s, %s of %d)", m.NumPruned, m.In, ratio, plural(c.NumPrunedGroups, "whole group"), c.GroupSize)
			if code != 0 || !strings.Contains(stdout, want) {
				t.Errorf("eval text: exit %d: %s; want %q in\n%s", code, stderr, want, stdout)
			}

			args = append(append([]string{"sweep", "--format", "json", "--scores", "s=" + scores, "--ratios", "1," + ratio + ",0"}, groupCaseArgs(c)...), batches...)
			code, stdout, stderr = runCLI(t, args...)
			var points []pointJSON
			if code != 0 || json.Unmarshal([]byte(stdout), &points) != nil || len(points) != 3 {
				t.Fatalf("sweep: exit %d: %s%s", code, stderr, stdout)
			}
			p := points[1]
			checkGroupCase(t, c, "sweep", p.RMSE, p.CosineSimilarity, p.NumPruned, p.NumPrunedGroups, p.GroupSize)

			abs := func(p string) string { a, _ := filepath.Abs(p); return a }
			var absBatches []string
			for _, b := range batches {
				absBatches = append(absBatches, abs(b))
			}
			layer := map[string]any{"name": "l", "weight": abs(filepath.Join(c.Dir, "W.npy")), "scores": map[string]string{"s": abs(scores)},
				"batches": absBatches, "ratios": []float64{c.Ratio}}
			if c.Bias {
				layer["bias"] = abs(filepath.Join(c.Dir, "b.npy"))
			}
			report := func(flags ...string) pointJSON {
				raw, _ := json.Marshal(map[string]any{"layers": []any{layer}})
				manifest := filepath.Join(t.TempDir(), "m.json")
				if err := os.WriteFile(manifest, raw, 0o644); err != nil {
					t.Fatal(err)
				}
				code, stdout, stderr := runCLI(t, append(append([]string{"report", "--format", "json"}, flags...), manifest)...)
				var rep reportJSON
				if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || len(rep.Layers) != 1 || len(rep.Layers[0].Points) != 1 {
					t.Fatalf("report: exit %d: %s%s", code, stderr, stdout)
				}
				return rep.Layers[0].Points[0]
			}
			p = report(groupCaseFlags(c)...) // the flags apply to a layer that sets no group fields
			checkGroupCase(t, c, "report --group-size", p.RMSE, p.CosineSimilarity, p.NumPruned, p.NumPrunedGroups, p.GroupSize)
			layer["group_size"] = c.GroupSize
			if c.GroupReduce != nil {
				layer["group_reduce"] = *c.GroupReduce
			}
			p = report("--group-size", "1") // the manifest's fields win
			checkGroupCase(t, c, "report, group_size in the manifest", p.RMSE, p.CosineSimilarity, p.NumPruned, p.NumPrunedGroups, p.GroupSize)

			out := t.TempDir()
			wk, keepPath := filepath.Join(out, "WK.npy"), filepath.Join(out, "keep.npy")
			args = append([]string{"prune", "--scores", scores, "--ratio", ratio, "--out-weight", wk, "--out-keep", keepPath}, groupCaseArgs(c)...)
			if code, stdout, stderr = runCLI(t, args...); code != 0 {
				t.Fatalf("prune: exit %d: %s%s", code, stderr, stdout)
			}
			got, err := tensorfile.Read(tensorfile.Ref{Path: wk})
			if err != nil {
				t.Fatal(err)
			}
			if in := m.In; got.Shape[1] != in-c.F64.NumPruned {
				t.Errorf("prune: kept %d of %d channels, want %d", got.Shape[1], in, in-c.F64.NumPruned)
			}
			if want := plural(c.NumPrunedGroups, "whole group") + fmt.Sprintf(" of %d", c.GroupSize); !strings.Contains(stdout, want) {
				t.Errorf("prune: output %q lacks %q", stdout, want)
			}
		})
	}
}

// TestGroupBadInputs checks that bad group sizes, reductions and score
// lengths stop eval, sweep, prune and report with one clear line.
// --group-reduce without groups changes nothing, and says so once on
// stderr; with groups, or left at its default, nothing is said.
func TestGroupReduceUnusedWarns(t *testing.T) {
	f := newFixture(t) // a 6 → 5 layer
	for _, tc := range []struct {
		flags []string
		warns bool
	}{
		{[]string{"--group-reduce", "max"}, true},
		{[]string{"--group-size", "1", "--group-reduce", "sum"}, true},
		{[]string{"--group-size", "2", "--group-reduce", "max"}, false},
		{nil, false},
	} {
		code, _, stderr := runCLI(t, append(f.args("0.5", f.x0), tc.flags...)...)
		if n := strings.Count(stderr, "--group-reduce is unused"); code != 0 || n != map[bool]int{true: 1}[tc.warns] {
			t.Errorf("%v: exit %d, stderr %q: want the warning %v once", tc.flags, code, stderr, tc.warns)
		}
	}
}

func TestGroupBadInputs(t *testing.T) {
	f := newFixture(t) // a 6 → 5 layer
	d := f.dir
	four := writeNpy(t, d, "four.npy", []int{4}, []float32{1, 2, 3, 4})
	manifest := func(fields string) string {
		p := filepath.Join(t.TempDir(), "m.json")
		layer := fmt.Sprintf(`{"name": "l", "weight": %q, "scores": {"s": %q}, "batches": [%q], "ratios": [0.5]%s}`, f.w, f.s, f.x0, fields)
		if err := os.WriteFile(p, []byte(`{"layers": [`+layer+`]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	prune := func(extra ...string) []string {
		return append([]string{"prune", "--weight", f.w, "--scores", f.s, "--ratio", "0.5",
			"--out-weight", filepath.Join(d, "wk.npy"), "--out-keep", filepath.Join(d, "k.npy")}, extra...)
	}
	errLine := regexp.MustCompile(`^chanprune: [^\n]+\n$`)
	for _, tc := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"size 0", append(f.args("0.5", f.x0), "--group-size", "0"), "--group-size 0"},
		{"size not dividing", append(f.args("0.5", f.x0), "--group-size", "4"), "--group-size 4 does not divide the layer's 6 input channels"},
		{"bad reduce", append(f.args("0.5", f.x0), "--group-size", "2", "--group-reduce", "median"), `--group-reduce "median"`},
		{"scores of neither length", []string{"eval", "--weight", f.w, "--scores", four, "--ratio", "0.5", "--group-size", "2", f.x0},
			"shape [4], want [6] (one score per input channel) or [3] (one per group of 2 channels)"},
		{"sweep size", []string{"sweep", "--weight", f.w, "--scores", "s=" + f.s, "--ratios", "0.5", "--group-size", "5", f.x0}, "--group-size 5"},
		{"prune size", prune("--group-size", "-2"), "--group-size -2"},
		{"prune scores", append(prune("--group-size", "3"), "--scores", four), "[2] (one per group of 3 channels)"},
		{"manifest size", []string{"report", manifest(`, "group_size": 4`)}, "group_size 4 does not divide"},
		{"manifest size type", []string{"report", manifest(`, "group_size": "two"`)}, `group_size: "two"`},
		{"manifest reduce", []string{"report", manifest(`, "group_size": 2, "group_reduce": "min"`)}, `group_reduce "min"`},
		{"report flag", []string{"report", "--group-size", "0", manifest("")}, "--group-size 0"},
		{"report flag not dividing", []string{"report", "--group-size", "4", manifest("")}, "group-size 4 does not divide the layer's 6 input channels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line naming %q", code, stderr, stdout, tc.mention)
			}
		})
	}
}
