package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
			if math.Abs(m.RMSE-want.RMSE) > 1e-4*want.RMSE+1e-9 || math.Abs(m.CosineSimilarity-want.CosineSimilarity) > 2e-6 || m.NumPruned != want.NumPruned {
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
	if want := c.F64["lstsq"]; math.Abs(points[2].RMSE-want.RMSE) > 1e-4*want.RMSE {
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
