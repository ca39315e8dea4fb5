//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A plot that fails to be written (here a named pipe with no reader, which
// passes every check made before the work) exits 1 naming --plot, but only
// after the results are out: the table on stdout, the --out report landed.
func TestPlotFailureKeepsResults(t *testing.T) {
	dir, layers := newReportFixture(t)
	jsonPath, _ := writeManifests(t, dir, layers)
	outDir := t.TempDir()
	fifo := filepath.Join(outDir, "plot.svg")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	l := layers[0]
	code, stdout, stderr := runCLI(t, "sweep", "--weight", filepath.Join(dir, l.w), "--ratios", "0.5",
		"--scores", "a="+filepath.Join(dir, l.a), "--plot", fifo, filepath.Join(dir, l.batches[0]))
	if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "--plot") || !strings.Contains(stdout, "cosine") {
		t.Errorf("sweep: exit %d, stderr %q, stdout %q; want the table, then exit 1 naming --plot", code, stderr, stdout)
	}

	report := filepath.Join(outDir, "report.json")
	code, stdout, stderr = runCLI(t, "report", "--format", "json", "--out", report, "--plot", fifo, jsonPath)
	if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "--plot") || stdout != "" {
		t.Errorf("report: exit %d, stderr %q, stdout %q; want exit 1 naming --plot", code, stderr, stdout)
	}
	_, want, _ := runCLI(t, "report", "--format", "json", jsonPath)
	if b, err := os.ReadFile(report); err != nil || string(b) != want {
		t.Errorf("--out holds %q (%v) after the plot failed, want the report", b, err)
	}
	code, stdout, _ = runCLI(t, "report", "--plot", fifo, jsonPath)
	if code != 1 || !strings.Contains(stdout, "across layers") {
		t.Errorf("report to stdout: exit %d, stdout %q; want the report, then exit 1", code, stdout)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 2 {
		t.Errorf("%d files in the output directory, want plot.svg and report.json (no temporaries)", len(entries))
	}
}
