package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/tensorfile"
)

// cliGroupCase is one folder of testdata/conformance-ext/groups as the
// commands take it.
type cliGroupCase struct {
	dir             string
	Ratio           float64 `json:"ratio"`
	Batches         int     `json:"batches"`
	Bias            bool    `json:"bias"`
	GroupSize       int     `json:"group_size"`
	GroupReduce     *string `json:"group_reduce"`
	NumPrunedGroups int     `json:"num_pruned_groups"`
	F64             struct {
		RMSE             float64 `json:"rmse"`
		CosineSimilarity float64 `json:"cosine_similarity"`
		NumPruned        int     `json:"num_pruned"`
	} `json:"f64"`
}

func cliGroupCases(t *testing.T) []cliGroupCase {
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "conformance-ext", "groups", "*", "case.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no group cases: %v", err)
	}
	var cases []cliGroupCase
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		c := cliGroupCase{dir: filepath.Dir(p)}
		if err == nil {
			err = json.Unmarshal(raw, &c)
		}
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		cases = append(cases, c)
	}
	return cases
}

func (c cliGroupCase) file(name string) string { return filepath.Join(c.dir, name) }

// layerArgs are the --weight, --bias and group flags of the case.
func (c cliGroupCase) layerArgs() []string {
	args := []string{"--weight", c.file("W.npy"), "--group-size", fmt.Sprint(c.GroupSize)}
	if c.Bias {
		args = append(args, "--bias", c.file("b.npy"))
	}
	if c.GroupReduce != nil {
		args = append(args, "--group-reduce", *c.GroupReduce)
	}
	return args
}

func (c cliGroupCase) batchFiles() []string {
	var files []string
	for i := range c.Batches {
		files = append(files, c.file(fmt.Sprintf("acts_%d.npy", i)))
	}
	return files
}

// check compares one result with the case's truth, to the conformance
// tolerances.
func (c cliGroupCase) check(t *testing.T, cmd string, rmse, cos float64, pruned, groups, size int) {
	t.Helper()
	if math.Abs(rmse-c.F64.RMSE) > 1e-5*c.F64.RMSE || math.Abs(cos-c.F64.CosineSimilarity) > 2e-6 ||
		pruned != c.F64.NumPruned || groups != c.NumPrunedGroups || size != c.GroupSize {
		t.Errorf("%s: rmse %.10g cos %.10g, %d channels in %d groups of %d; want %.10g %.10g, %d in %d of %d",
			cmd, rmse, cos, pruned, groups, size, c.F64.RMSE, c.F64.CosineSimilarity, c.F64.NumPruned, c.NumPrunedGroups, c.GroupSize)
	}
}

// TestGroupConformanceCLI runs every group case through eval, sweep,
// report (manifest group_size and group_reduce) and prune.
func TestGroupConformanceCLI(t *testing.T) {
	for _, c := range cliGroupCases(t) {
		t.Run(filepath.Base(c.dir), func(t *testing.T) {
			ratio := fmt.Sprint(c.Ratio)
			args := append(append([]string{"eval", "--format", "json", "--scores", c.file("scores.npy"), "--ratio", ratio}, c.layerArgs()...), c.batchFiles()...)
			code, stdout, stderr := runCLI(t, args...)
			var m evalJSON
			if code != 0 || json.Unmarshal([]byte(stdout), &m) != nil {
				t.Fatalf("eval: exit %d: %s%s", code, stderr, stdout)
			}
			c.check(t, "eval", m.RMSE, m.CosineSimilarity, m.NumPruned, m.NumPrunedGroups, m.GroupSize)

			args = append(append([]string{"sweep", "--format", "json", "--scores", "s=" + c.file("scores.npy"), "--ratios", "1," + ratio + ",0"}, c.layerArgs()...), c.batchFiles()...)
			code, stdout, stderr = runCLI(t, args...)
			var points []pointJSON
			if code != 0 || json.Unmarshal([]byte(stdout), &points) != nil || len(points) != 3 {
				t.Fatalf("sweep: exit %d: %s%s", code, stderr, stdout)
			}
			p := points[1]
			c.check(t, "sweep", p.RMSE, p.CosineSimilarity, p.NumPruned, p.NumPrunedGroups, p.GroupSize)

			abs := func(p string) string { a, _ := filepath.Abs(p); return a }
			layer := map[string]any{"name": "l", "weight": abs(c.file("W.npy")), "scores": map[string]string{"s": abs(c.file("scores.npy"))},
				"batches": func() (b []string) {
					for _, f := range c.batchFiles() {
						b = append(b, abs(f))
					}
					return b
				}(), "ratios": []float64{c.Ratio}, "group_size": c.GroupSize}
			if c.Bias {
				layer["bias"] = abs(c.file("b.npy"))
			}
			if c.GroupReduce != nil {
				layer["group_reduce"] = *c.GroupReduce
			}
			raw, _ := json.Marshal(map[string]any{"layers": []any{layer}})
			manifest := filepath.Join(t.TempDir(), "m.json")
			if err := os.WriteFile(manifest, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr = runCLI(t, "report", "--format", "json", manifest)
			var rep reportJSON
			if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || len(rep.Layers) != 1 || len(rep.Layers[0].Points) != 1 {
				t.Fatalf("report: exit %d: %s%s", code, stderr, stdout)
			}
			p = rep.Layers[0].Points[0]
			c.check(t, "report", p.RMSE, p.CosineSimilarity, p.NumPruned, p.NumPrunedGroups, p.GroupSize)

			out := t.TempDir()
			wk, keepPath := filepath.Join(out, "WK.npy"), filepath.Join(out, "keep.npy")
			args = append([]string{"prune", "--scores", c.file("scores.npy"), "--ratio", ratio, "--out-weight", wk, "--out-keep", keepPath}, c.layerArgs()...)
			if code, stdout, stderr = runCLI(t, args...); code != 0 {
				t.Fatalf("prune: exit %d: %s%s", code, stderr, stdout)
			}
			w, err := tensorfile.Read(tensorfile.Ref{Path: c.file("W.npy")})
			if err != nil {
				t.Fatal(err)
			}
			got, err := tensorfile.Read(tensorfile.Ref{Path: wk})
			if err != nil {
				t.Fatal(err)
			}
			if in := w.Shape[1]; got.Shape[1] != in-c.F64.NumPruned {
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line naming %q", code, stderr, stdout, tc.mention)
			}
		})
	}
}
