package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/tensorfile"
)

// conformanceArgs returns the weight, bias and batch arguments of a case.
func conformanceArgs(t *testing.T, name string) (dir string, layer, batches []string) {
	dir = filepath.Join("..", "..", "testdata", "conformance", name)
	batches, err := filepath.Glob(filepath.Join(dir, "acts_*.npy"))
	if err != nil || len(batches) == 0 {
		t.Fatalf("%s: no batches: %v", dir, err)
	}
	return dir, []string{"--weight", filepath.Join(dir, "W.npy"), "--bias", filepath.Join(dir, "b.npy")}, batches
}

func TestSweepFormats(t *testing.T) {
	dir, layer, batches := conformanceArgs(t, "seed_shape_small")
	f := newFixture(t)
	// A second score set: the weight's first row, 64 values like the layer's in.
	w, err := tensorfile.Read(tensorfile.Ref{Path: filepath.Join(dir, "W.npy")})
	if err != nil {
		t.Fatal(err)
	}
	other := writeNpy(t, f.dir, "row0.npy", []int{64}, w.Data[:64])
	args := append(append([]string{"sweep", "--ratios", "0.2,0.05,0.9", "--scores", "case=" + filepath.Join(dir, "scores.npy"),
		"--scores", "row0=" + other}, layer...), batches...)

	code, stdout, stderr := runCLI(t, append(args, "--format", "json")...)
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, stderr)
	}
	var points []pointJSON
	if err := json.Unmarshal([]byte(stdout), &points); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	if len(points) != 6 || points[0].Scores != "case" || points[0].Ratio != 0.2 || points[5].Scores != "row0" || points[5].Ratio != 0.9 {
		t.Fatalf("points out of order: %+v", points)
	}
	// The case's own pair has the conformance answer.
	if p := points[0]; !within(p.RMSE-0.252464089596186, 1e-5*0.252464089596186) ||
		!within(p.CosineSimilarity-0.8954281885196419, 2e-6) || p.NumPruned != 12 {
		t.Errorf("case@0.2 = %+v, want the conformance answer", p)
	}
	// Each point is what eval says for its pair.
	for _, p := range points[:3] {
		code, out, stderr := runCLI(t, append(append([]string{"eval", "--format", "json", "--scores", filepath.Join(dir, "scores.npy"),
			"--ratio", fmt.Sprint(p.Ratio)}, layer...), batches...)...)
		var m evalJSON
		if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
			t.Fatalf("eval: exit %d: %s", code, stderr)
		}
		if !within(m.RMSE-p.RMSE, 1e-5*m.RMSE) || !within(m.CosineSimilarity-p.CosineSimilarity, 2e-6) || m.NumPruned != p.NumPruned {
			t.Errorf("sweep %+v, eval %+v", p, m)
		}
	}

	code, stdout, stderr = runCLI(t, append(args, "--format", "csv")...)
	if code != 0 {
		t.Fatalf("csv: exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != 7 || strings.Join(rows[0], ",") != "scores,ratio,num_pruned,rmse,cosine_similarity,method,kernel,ties_at_cut,compensation,damp,fit_tokens,fit" {
		t.Fatalf("csv: %v\n%s", err, stdout)
	}
	for i, row := range rows[1:] {
		rmse, _ := strconv.ParseFloat(row[3], 64)
		if row[0] != points[i].Scores || rmse != points[i].RMSE {
			t.Errorf("csv row %d %v, json %+v", i, row, points[i])
		}
	}

	code, stdout, stderr = runCLI(t, args...)
	if code != 0 || !strings.Contains(stdout, "row0") || !strings.Contains(stdout, "cosine") {
		t.Errorf("text: exit %d: %s\n%s", code, stderr, stdout)
	}
}

func TestSweepBadInputs(t *testing.T) {
	f := newFixture(t)
	base := []string{"sweep", "--weight", f.w, "--bias", f.b}
	for _, tc := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"no scores", append(base, "--ratios", "0.5", f.x0), "--scores"},
		{"scores without name", append(base, "--scores", f.s, "--ratios", "0.5", f.x0), "NAME=FILE"},
		{"same name twice", append(base, "--scores", "a="+f.s, "--scores", "a="+f.s, "--ratios", "0.5", f.x0), "twice"},
		{"scores of wrong length", append(base, "--scores", "bias="+f.b, "--ratios", "0.5", f.x0), "bias="},
		{"no ratios", append(base, "--scores", "a="+f.s, f.x0), "--ratios"},
		{"bad ratio", append(base, "--scores", "a="+f.s, "--ratios", "0.5,1.2", f.x0), "1.2"},
		{"ratio twice", append(base, "--scores", "a="+f.s, "--ratios", "0.5,0.2,0.50", f.x0), "0.5 given twice"},
		{"bad method", append(base, "--scores", "a="+f.s, "--ratios", "0.5", "--method", "fast", f.x0), "--method"},
		{"bad format", append(base, "--scores", "a="+f.s, "--ratios", "0.5", "--format", "xml", f.x0), "--format"},
		{"no batches", append(base, "--scores", "a="+f.s, "--ratios", "0.5"), "batches"},
		{"missing batch", append(base, "--scores", "a="+f.s, "--ratios", "0.5", f.x0, "gone.npy"), "gone.npy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line naming %q", code, stderr, stdout, tc.mention)
			}
		})
	}
}

// The commands read batch files one at a time into one buffer: each more
// file costs the reader's 64 KiB chunk and a header, not its megabyte.
func TestSweepReadsBatchesLazily(t *testing.T) {
	const in, out, tokens = 128, 128, 512
	dir := t.TempDir()
	w := writeNpy(t, dir, "W.npy", []int{out, in}, fill(out*in, func(i int) float32 { return float32(i%13)/13 - 0.5 }))
	s := writeNpy(t, dir, "s.npy", []int{in}, fill(in, func(i int) float32 { return float32(i % 17) }))
	batch := fill(tokens*in, func(i int) float32 { return float32(i%7) - 3 })
	var files []string
	for i := range 24 {
		files = append(files, writeNpy(t, dir, fmt.Sprintf("x%d.npy", i), []int{tokens, in}, batch))
	}
	allocated := func(n int) uint64 {
		args := append([]string{"sweep", "--weight", w, "--scores", "a=" + s, "--ratios", "0.1,0.5", "--method", "gram"}, files[:n]...)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if code := run(args, io.Discard, io.Discard); code != 0 {
			t.Fatalf("exit %d", code)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	allocated(1) // warm: the worker pool
	// The least of three tries: a collection in between empties the
	// reader's chunk pool, and the runtime allocates on its own; both only
	// add (one CI run measured 71 KB a file, a chunk and 5.8 KB besides,
	// where most measure under 12 KB).
	perFile := int64(math.MaxInt64)
	for range 3 {
		few, many := allocated(12), allocated(24)
		perFile = min(perFile, (int64(many)-int64(few))/12)
	}
	if limit := int64(65<<10 + 4<<10); perFile > limit {
		t.Errorf("each more batch file of %d bytes allocates %d bytes, want ≤ %d", 4*tokens*in, perFile, limit)
	}
}
