package main

import (
	"regexp"
	"strconv"
	"testing"
)

func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The demo's example sets the estimators apart: no two rows share their
// numbers (with uniform weight columns and zero-mean channels, four did).
func TestDemoEstimatorsDiffer(t *testing.T) {
	code, stdout, stderr := runCLI(t, "demo", "--batches", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := regexp.MustCompile(`(?m)^([a-z0-9-]+) +\d+ +([0-9.e+-]+) +(\S+) +([0-9.e+-]+) `).FindAllStringSubmatch(stdout, -1)
	if len(rows) < 7 {
		t.Fatalf("found %d estimator rows in\n%s", len(rows), stdout)
	}
	seen := map[string]string{}
	for _, r := range rows {
		if other, ok := seen[r[2]+" "+r[3]]; ok {
			t.Errorf("%s and %s have the same rmse and cosine, %s %s:\n%s", other, r[1], r[2], r[3], stdout)
		}
		seen[r[2]+" "+r[3]] = r[1]
		// The compensation column: lstsq, fitted on the evaluated batch, leaves less.
		if none, lstsq := parseFloat(t, r[2]), parseFloat(t, r[4]); !(lstsq < none) {
			t.Errorf("%s: rmse lstsq %v not below rmse %v", r[1], lstsq, none)
		}
	}
}
