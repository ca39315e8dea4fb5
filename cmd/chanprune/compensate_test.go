package main

import (
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/tensorfile"
)

// compensationCase is a case of testdata/conformance-ext/compensation.
type compensationCase struct {
	Ratio      float64 `json:"ratio"`
	FitBatches int     `json:"fit_batches"`
	Bias       bool    `json:"bias"`
	Damp       float64 `json:"damp"`
	F64        map[string]*struct {
		RMSE             float64 `json:"rmse"`
		CosineSimilarity float64 `json:"cosine_similarity"`
		NumPruned        int     `json:"num_pruned"`
	} `json:"f64"`
}

// compensationArgs returns a case, its layer, batch and --fit arguments.
func compensationArgs(t *testing.T, dir string) (c compensationCase, layer, batches, fit []string) {
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil || json.Unmarshal(raw, &c) != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	layer = []string{"--weight", filepath.Join(dir, "W.npy"), "--scores", filepath.Join(dir, "scores.npy")}
	if c.Bias {
		layer = append(layer, "--bias", filepath.Join(dir, "b.npy"))
	}
	batches, _ = filepath.Glob(filepath.Join(dir, "acts_*.npy"))
	fits, _ := filepath.Glob(filepath.Join(dir, "fit_*.npy"))
	for _, f := range fits {
		fit = append(fit, "--fit", f)
	}
	return c, layer, batches, fit
}

// TestEvalCompensationConformance runs every public compensation case in
// every mode through `chanprune eval`.
func TestEvalCompensationConformance(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "conformance-ext", "compensation", "*"))
	if len(dirs) == 0 {
		t.Fatal("no compensation cases")
	}
	for _, dir := range dirs {
		c, layer, batches, fit := compensationArgs(t, dir)
		for _, mode := range []string{"none", "bias", "lstsq"} {
			args := append(append(append([]string{"eval", "--format", "json", "--compensate", mode,
				"--damp", fmt.Sprint(c.Damp), "--ratio", fmt.Sprint(c.Ratio)}, layer...), fit...), batches...)
			code, stdout, stderr := runCLI(t, args...)
			want := c.F64[mode]
			if want == nil {
				if code == 0 || !strings.Contains(stderr, "--damp") {
					t.Errorf("%s %s: exit %d, stderr %q: want a refusal naming --damp", dir, mode, code, stderr)
				}
				continue
			}
			var m evalJSON
			if code != 0 || json.Unmarshal([]byte(stdout), &m) != nil {
				t.Fatalf("%s %s: exit %d: %s", dir, mode, code, stderr)
			}
			if !within(m.RMSE-want.RMSE, 1e-4*want.RMSE+1e-9) || !within(m.CosineSimilarity-want.CosineSimilarity, 2e-6) || m.NumPruned != want.NumPruned {
				t.Errorf("%s %s: rmse %v cos %v k %d, want %v %v %d", dir, mode, m.RMSE, m.CosineSimilarity, m.NumPruned, want.RMSE, want.CosineSimilarity, want.NumPruned)
			}
			wantFit := map[bool]string{true: "--fit batches", false: "evaluated batches"}[len(fit) > 0]
			if m.Compensation != mode || (mode != "none") != (m.Fit == wantFit && m.FitTokens > 0) {
				t.Errorf("%s %s: compensation %q fit %q (%d tokens), want fit %q", dir, mode, m.Compensation, m.Fit, m.FitTokens, wantFit)
			}
		}
	}
}

// TestSweepCompensationList: --compensate none,lstsq gives every point in
// each mode, the compensation field in json and csv, a column in text, and
// lstsq's points equal eval's.
func TestSweepCompensationList(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "conformance-ext", "compensation", "comp_small")
	c, layer, batches, _ := compensationArgs(t, dir)
	sweep := []string{"sweep", "--compensate", "none,lstsq", "--ratios", fmt.Sprint(c.Ratio) + ",0.5",
		"--weight", layer[1], "--bias", filepath.Join(dir, "b.npy"), "--scores", "s=" + layer[3]}
	code, stdout, stderr := runCLI(t, append(append(sweep, "--format", "json"), batches...)...)
	var points []pointJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &points) != nil {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if len(points) != 4 || points[0].Compensation != "none" || points[2].Compensation != "lstsq" || points[2].Fit != "evaluated batches" {
		t.Fatalf("points %+v", points)
	}
	if want := c.F64["lstsq"]; !within(points[2].RMSE-want.RMSE, 1e-4*want.RMSE) {
		t.Errorf("lstsq point rmse %v, want %v", points[2].RMSE, want.RMSE)
	}
	code, stdout, _ = runCLI(t, append(append(sweep, "--format", "csv"), batches...)...)
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if code != 0 || err != nil || len(rows) != 5 || rows[0][8] != "compensation" || rows[3][8] != "lstsq" {
		t.Errorf("csv: %v %v", err, rows)
	}
	code, stdout, _ = runCLI(t, append(sweep, batches...)...)
	if code != 0 || !strings.Contains(stdout, "compensation") || !strings.Contains(stdout, "fitted on the evaluated batches") {
		t.Errorf("text: %s", stdout)
	}
	// The plot keeps one curve per (set, mode): "s" and "s + lstsq".
	svg := filepath.Join(t.TempDir(), "p.svg")
	if code, _, stderr := runCLI(t, append(append(sweep, "--plot", svg), batches...)...); code != 0 {
		t.Fatalf("plot: exit %d, %s", code, stderr)
	}
	if raw, err := os.ReadFile(svg); err != nil || !strings.Contains(string(raw), "s + lstsq") {
		t.Errorf("plot: %v; no curve labelled %q", err, "s + lstsq")
	}
}

// TestEvalWarnsFewFitTokens: lstsq fitted on fewer tokens than it has
// kept channels to fit warns, naming --fit.
func TestEvalWarnsFewFitTokens(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "conformance-ext", "compensation", "comp_small")
	c, layer, batches, _ := compensationArgs(t, dir)
	args := append(append([]string{"eval", "--compensate", "lstsq", "--ratio", fmt.Sprint(c.Ratio)}, layer...), batches[0])
	code, _, stderr := runCLI(t, args...)
	if code != 0 || !strings.Contains(stderr, "overfit") || !strings.Contains(stderr, "--fit") {
		t.Errorf("exit %d, stderr %q: want the overfitting warning", code, stderr)
	}
}

// TestEvalWarnsUnusedRepairFlags: --fit where no mode repairs and a
// --damp given where no mode is lstsq change nothing, and say so on
// stderr; the default --damp and a --fit that is used say nothing.
func TestEvalWarnsUnusedRepairFlags(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "conformance-ext", "compensation", "comp_small")
	c, layer, batches, _ := compensationArgs(t, dir)
	eval := append([]string{"eval", "--ratio", fmt.Sprint(c.Ratio)}, layer...)
	for _, tc := range []struct {
		flags []string
		want  []string // the warnings' flags
	}{
		{[]string{"--fit", batches[0]}, []string{"--fit"}},
		{[]string{"--compensate", "bias", "--damp", "0.1"}, []string{"--damp"}},
		{[]string{"--compensate", "none", "--damp", "0.1", "--fit", batches[0]}, []string{"--fit", "--damp"}},
		{[]string{"--compensate", "lstsq", "--damp", "0.1", "--fit", batches[0]}, nil},
		{[]string{"--compensate", "bias"}, nil},
	} {
		code, _, stderr := runCLI(t, append(append(eval, tc.flags...), batches...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d, %s", tc.flags, code, stderr)
		}
		if got := strings.Count(stderr, "is unused"); got != len(tc.want) {
			t.Errorf("%v: %d unused-flag warnings in %q, want %d", tc.flags, got, stderr, len(tc.want))
		}
		for _, f := range tc.want {
			if !strings.Contains(stderr, "warning: "+f+" is unused") {
				t.Errorf("%v: stderr %q: want a warning that %s is unused", tc.flags, stderr, f)
			}
		}
	}
}

// TestPruneCompensate: prune --compensate lstsq writes the refitted kept
// weight and bias; the layer they make, run on the case's batches, has
// the case's lstsq RMSE (formed here in float64 from the files alone), and
// a layer without bias gets one.
func TestPruneCompensate(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "conformance-ext", "compensation", "comp_no_bias")
	c, layer, batches, _ := compensationArgs(t, dir)
	f := newFixture(t)
	wk, keep, bias := filepath.Join(f.dir, "WK.npy"), filepath.Join(f.dir, "keep.npy"), filepath.Join(f.dir, "B.npy")
	args := append(append([]string{"prune", "--compensate", "lstsq", "--damp", fmt.Sprint(c.Damp), "--ratio", fmt.Sprint(c.Ratio),
		"--out-weight", wk, "--out-keep", keep, "--out-bias", bias}, layer...), batches...)
	if code, stdout, stderr := runCLI(t, args...); code != 0 || !strings.Contains(stdout, "repaired by lstsq") {
		t.Fatalf("exit %d: %s%s", code, stderr, stdout)
	}
	read := func(p string) *tensorfile.Array {
		a, err := tensorfile.Read(tensorfile.Ref{Path: p})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	w, wK, b := read(filepath.Join(dir, "W.npy")), read(wk), read(bias)
	raw, err := os.ReadFile(keep) // int64 after the 128-byte header
	if err != nil {
		t.Fatal(err)
	}
	out, in, kept := w.Shape[0], w.Shape[1], (len(raw)-128)/8
	if len(b.Data) != out || wK.Shape[1] != kept {
		t.Fatalf("bias %v, weight %v, %d kept", b.Shape, wK.Shape, kept)
	}
	keepIdx := make([]int, kept)
	for i := range keepIdx {
		keepIdx[i] = int(binary.LittleEndian.Uint64(raw[128+8*i:]))
	}
	var rmse float64
	for _, p := range batches {
		x := read(p).Data
		var dd float64
		tokens := len(x) / in
		for tk := range tokens {
			row := x[tk*in : (tk+1)*in]
			for o := range out {
				y, y2 := 0.0, float64(b.Data[o])
				for ch, v := range row {
					y += float64(v) * float64(w.Data[o*in+ch])
				}
				for i, ch := range keepIdx {
					y2 += float64(row[ch]) * float64(wK.Data[o*kept+i])
				}
				dd += (y - y2) * (y - y2)
			}
		}
		rmse += math.Sqrt(dd / float64(tokens*out))
	}
	rmse /= float64(len(batches))
	if want := c.F64["lstsq"].RMSE; !within(rmse-want, 1e-4*want) {
		t.Errorf("the written layer's rmse %v, want %v", rmse, want)
	}
	// --out-bias is required with --compensate, refused without it.
	args[len(args)-len(batches)-len(layer)-1] = "" // --out-bias ""
	if code, _, stderr := runCLI(t, args...); code == 0 || !strings.Contains(stderr, "--out-bias") {
		t.Errorf("no --out-bias: exit %d, %s", code, stderr)
	}
}

// TestPruneCompensateOut: with --compensate and --out, the .safetensors
// file holds the repaired weight and bias (the very values --out-weight
// and --out-bias write), and --out alone satisfies --compensate.
func TestPruneCompensateOut(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "conformance-ext", "compensation", "comp_small")
	c, layer, batches, _ := compensationArgs(t, dir)
	f := newFixture(t)
	wk, keep, bias, st := filepath.Join(f.dir, "WK.npy"), filepath.Join(f.dir, "keep.npy"), filepath.Join(f.dir, "B.npy"), filepath.Join(f.dir, "l.safetensors")
	args := append([]string{"prune", "--compensate", "lstsq", "--damp", fmt.Sprint(c.Damp), "--ratio", fmt.Sprint(c.Ratio),
		"--bias", filepath.Join(dir, "b.npy"), "--out-weight", wk, "--out-keep", keep, "--out-bias", bias, "--out", st}, layer...)
	if code, stdout, stderr := runCLI(t, append(args, batches...)...); code != 0 {
		t.Fatalf("exit %d: %s%s", code, stderr, stdout)
	}
	file, err := tensorfile.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"weight", wk}, {"bias", bias}} {
		got, err := file.Read(pair[0])
		if err != nil {
			t.Fatal(err)
		}
		want, err := tensorfile.Read(tensorfile.Ref{Path: pair[1]})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Data, want.Data) || !slices.Equal(got.Shape, want.Shape) {
			t.Errorf("%s in --out differs from %s", pair[0], pair[1])
		}
	}
	orig, err := tensorfile.Read(tensorfile.Ref{Path: filepath.Join(dir, "b.npy")})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := file.Read("bias"); slices.Equal(got.Data, orig.Data) {
		t.Error("--out holds the original bias, not the repaired one")
	}
	only := append([]string{"prune", "--compensate", "bias", "--ratio", fmt.Sprint(c.Ratio), "--out", filepath.Join(f.dir, "b.safetensors")}, layer...)
	if code, _, stderr := runCLI(t, append(only, batches...)...); code != 0 {
		t.Errorf("--compensate with --out alone: exit %d, %s", code, stderr)
	}
}
