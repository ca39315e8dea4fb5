package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// eval, sweep and report name the method that ran and the kernel, per
// point (and per batch in eval's JSON).
func TestOutputsNameMethodAndKernel(t *testing.T) {
	f := newFixture(t)
	for _, method := range []string{"direct", "gram"} {
		code, out, stderr := runCLI(t, append(f.args("0.5", f.x0, f.x1), "--method", method, "--format", "json")...)
		var m evalJSON
		if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
			t.Fatalf("eval --method %s: exit %d: %s", method, code, stderr)
		}
		if m.Method != method || m.Kernel == "" || len(m.PerBatch) != 2 {
			t.Errorf("eval --method %s: method %q, kernel %q", method, m.Method, m.Kernel)
		}
		for _, b := range m.PerBatch {
			if b.Method != method {
				t.Errorf("eval --method %s: batch %s ran %q", method, b.File, b.Method)
			}
		}
		if _, out, _ := runCLI(t, append(f.args("0.5", f.x0), "--method", method)...); !strings.Contains(out, "method            "+method+"\n") {
			t.Errorf("eval --method %s text has no method line:\n%s", method, out)
		}

		sweep := []string{"sweep", "--weight", f.w, "--bias", f.b, "--scores", "a=" + f.s, "--ratios", "0.25,0.5", "--method", method, f.x0, f.x1}
		code, out, stderr = runCLI(t, append(sweep, "--format", "json")...)
		var points []pointJSON
		if code != 0 || json.Unmarshal([]byte(out), &points) != nil {
			t.Fatalf("sweep --method %s: exit %d: %s", method, code, stderr)
		}
		for _, p := range points {
			if p.Method != method || p.Kernel != m.Kernel {
				t.Errorf("sweep --method %s json: %+v, want method %s, kernel %s", method, p, method, m.Kernel)
			}
		}
		_, out, _ = runCLI(t, append(sweep, "--format", "csv")...)
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(rows) != 3 {
			t.Fatalf("sweep csv: %v\n%s", err, out)
		}
		for _, row := range rows[1:] {
			if row[5] != method || row[6] != m.Kernel {
				t.Errorf("sweep --method %s csv row %v", method, row)
			}
		}
		if _, out, _ = runCLI(t, sweep...); !strings.Contains(out, "method") || strings.Count(out, method) < 2 {
			t.Errorf("sweep --method %s text names no method per point:\n%s", method, out)
		}
	}
}

func TestReportNamesMethodAndKernel(t *testing.T) {
	dir, layers := newReportFixture(t)
	jsonPath, _ := writeManifests(t, dir, layers)
	code, out, stderr := runCLI(t, "report", "--format", "json", jsonPath)
	var got reportJSON
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	for _, p := range got.Layers[1].Points { // the layer whose manifest says method: direct
		if p.Method != "direct" || p.Kernel == "" {
			t.Errorf("layer %s point %+v, want method direct and a kernel", got.Layers[1].Name, p)
		}
	}
	_, out, _ = runCLI(t, "report", "--format", "csv", jsonPath)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if row := rows[len(got.Layers[0].Points)+1]; row[1] != got.Layers[1].Name || row[8] != "direct" || row[9] == "" {
		t.Errorf("report csv row %v, want layer %s, method direct, a kernel", row, got.Layers[1].Name)
	}
}

// The fixture's scores 3 1 4 1 5 9 tie at 1: ratio 0.2 prunes one of the
// two (channel 1, the lower index), ratio 0.5 prunes both.
func TestTiesAtCutWarned(t *testing.T) {
	f := newFixture(t)
	const warning = "2 channels share the score 1 at the cut and the 1 of them with the lowest indexes are pruned"
	for _, c := range []struct {
		ratio string
		ties  int
	}{{"0.2", 2}, {"0.5", 0}} {
		code, out, stderr := runCLI(t, append(f.args(c.ratio, f.x0), "--format", "json")...)
		var m evalJSON
		if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
			t.Fatalf("eval: exit %d: %s", code, stderr)
		}
		if m.TiesAtCut != c.ties || strings.Contains(stderr, warning) != (c.ties > 0) {
			t.Errorf("eval --ratio %s: ties_at_cut %d, want %d; stderr %q", c.ratio, m.TiesAtCut, c.ties, stderr)
		}
	}

	code, out, stderr := runCLI(t, "sweep", "--weight", f.w, "--scores", "a="+f.s, "--ratios", "0.2,0.5", "--format", "json", f.x0)
	var points []pointJSON
	if code != 0 || json.Unmarshal([]byte(out), &points) != nil {
		t.Fatalf("sweep: exit %d: %s", code, stderr)
	}
	if points[0].TiesAtCut != 2 || points[1].TiesAtCut != 0 || strings.Count(stderr, warning) != 1 || !strings.Contains(stderr, "scores a at ratio 0.2") {
		t.Errorf("sweep: ties %d, %d, want 2, 0; stderr %q", points[0].TiesAtCut, points[1].TiesAtCut, stderr)
	}

	manifest := writeBytes(t, f.dir, "tied.json", []byte(fmt.Sprintf(
		`{"layers": [{"name": "tied", "weight": %q, "scores": {"a": %q}, "batches": [%q], "ratios": [0.2, 0.5]}]}`, f.w, f.s, f.x0)))
	code, out, stderr = runCLI(t, "report", "--format", "json", manifest)
	var got reportJSON
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	if pts := got.Layers[0].Points; pts[0].TiesAtCut != 2 || pts[1].TiesAtCut != 0 || !strings.Contains(stderr, "tied: scores a at ratio 0.2: "+warning) {
		t.Errorf("report: points %+v; stderr %q", pts, stderr)
	}

	code, _, stderr = runCLI(t, "prune", "--weight", f.w, "--scores", f.s, "--ratio", "0.2",
		"--out-weight", f.dir+"/WK.npy", "--out-keep", f.dir+"/keep.npy")
	if code != 0 || !strings.Contains(stderr, warning) {
		t.Errorf("prune --ratio 0.2: exit %d, stderr %q", code, stderr)
	}
}
