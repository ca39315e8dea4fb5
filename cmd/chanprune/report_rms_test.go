package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/tensorfile"
)

// Each report layer's output_rms is the mean over its batches of the RMS
// of y = x·Wᵀ + b, computed here in float64 from the files; the CSV's
// layer rows carry it in their last column.
func TestReportOutputRMS(t *testing.T) {
	dir, layers := newReportFixture(t)
	jsonPath, _ := writeManifests(t, dir, layers)
	code, stdout, stderr := runCLI(t, "report", "--format", "json", jsonPath)
	var got reportJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	read := func(ref string) *tensorfile.Array {
		x, err := tensorfile.Read(tensorfile.ParseRef(filepath.Join(dir, ref)))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for i, l := range layers {
		w := read(l.w)
		var bias []float32
		if l.hasBias {
			bias = read(l.b).Data
		}
		var want float64
		for _, b := range l.batches {
			x := read(b).Data
			var yy float64
			for t := 0; t < len(x)/l.in; t++ {
				for o := range l.out {
					var y float64
					if bias != nil {
						y = float64(bias[o])
					}
					for c := range l.in {
						y += float64(x[t*l.in+c]) * float64(w.Data[o*l.in+c])
					}
					yy += y * y
				}
			}
			want += math.Sqrt(yy/float64(len(x)/l.in*l.out)) / float64(len(l.batches))
		}
		if r := got.Layers[i].OutputRMS; want == 0 || !within(r-want, 1e-6*want) {
			t.Errorf("layer %s: output_rms %v, want %v", l.name, r, want)
		}
	}
	code, stdout, _ = runCLI(t, "report", "--format", "csv", jsonPath)
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	col := slices.Index(rows[0], "output_rms")
	if code != 0 || err != nil || col < 0 {
		t.Fatalf("csv: exit %d, %v: %q", code, err, rows[:1])
	}
	for _, row := range rows[1:] {
		want := ""
		if row[0] == "layer" {
			for _, l := range got.Layers {
				if l.Name == row[1] {
					want = strconv.FormatFloat(l.OutputRMS, 'g', -1, 64)
				}
			}
		}
		if row[col] != want {
			t.Errorf("csv row %q: output_rms %q, want %q", row, row[col], want)
		}
	}
}
