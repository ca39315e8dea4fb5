package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// svgTexts gives the text elements of an SVG file, in order.
func svgTexts(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range regexp.MustCompile(`<text[^>]*>([^<]*)</text>`).FindAllStringSubmatch(string(b), -1) {
		texts = append(texts, m[1])
	}
	return texts
}

// tickLabels gives the numbers that follow the first text axis among
// texts: the labels of that axis's ticks.
func tickLabels(texts []string, axis string) []float64 {
	var vals []float64
	for i, s := range texts {
		if s != axis {
			continue
		}
		for _, l := range texts[i+1:] {
			v, err := strconv.ParseFloat(l, 64)
			if err != nil {
				break
			}
			vals = append(vals, v)
		}
		break
	}
	return vals
}

func count(texts []string, want string) int {
	n := 0
	for _, s := range texts {
		if s == want {
			n++
		}
	}
	return n
}

// The axes are labelled with about five ticks, x spans the ratios swept
// (not 0 to 1), and --title replaces the default title.
func TestPlotAxesAndTitle(t *testing.T) {
	dir, layers := newReportFixture(t)
	l := layers[0]
	sweep := []string{"sweep", "--weight", filepath.Join(dir, l.w), "--ratios", "0.1,0.3,0.5,0.7",
		"--scores", "a=" + filepath.Join(dir, l.a), filepath.Join(dir, l.batches[0])}
	out := filepath.Join(t.TempDir(), "p.svg")
	for _, title := range []string{"", "down_proj of layer 3"} {
		args := append(append([]string(nil), sweep...), "--plot", out)
		if title != "" {
			args = append(args, "--title", title)
		}
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		texts := svgTexts(t, out)
		want := title // the default names the layer and its shape
		if title == "" {
			want = filepath.Join(dir, l.w) + " (6 → 5)"
		}
		if len(texts) == 0 || !strings.HasPrefix(texts[0], want) || title != "" && texts[0] != title {
			t.Errorf("--title %q: the plot's title is %q, want %q", title, texts[:min(1, len(texts))], want)
		}
		x := tickLabels(texts, "prune ratio")
		if len(x) < 4 || x[0] < 0.05 || x[len(x)-1] > 0.75 {
			t.Errorf("x tick labels %v: want at least 4 within the ratios' range 0.1–0.7", x)
		}
		for _, axis := range []string{"RMSE", "cosine similarity"} {
			if y := tickLabels(texts, axis); len(y) < 4 || len(y) > 8 {
				t.Errorf("%s tick labels %v: want 4 to 8", axis, y)
			}
		}
		if count(texts, "bars: min–max over layers") != 0 {
			t.Error("a sweep's plot notes spread bars")
		}
	}
}

func TestReadableTicks(t *testing.T) {
	for _, r := range [][2]float64{{0, 0.0543}, {0, 1}, {0.08, 0.72}, {0.9991, 1}, {-0.3, 1}, {0, 7.4}, {1e-5, 3e-5}} {
		var labels []string
		for _, tk := range readableTicks(r[0], r[1]) {
			if tk.Value < r[0] || tk.Value > r[1] {
				t.Errorf("%v: tick %g outside the range", r, tk.Value)
			}
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		seen := map[string]bool{}
		for _, l := range labels {
			if seen[l] || l == "-0" || strings.HasPrefix(l, "-0.0") && strings.Trim(l, "-0.") == "" {
				t.Errorf("%v: labels %q repeat or show -0", r, labels)
			}
			seen[l] = true
		}
		if len(labels) < 4 || len(labels) > 8 {
			t.Errorf("%v: %d labelled ticks %q, want 4 to 8", r, len(labels), labels)
		}
	}
}

// Layers over different ratio grids: the summary, CSV and plot say how
// many layers each point has, the plot rings the partial points and draws
// the spread, and one warning line says the grids differ.
func TestReportUnevenGrids(t *testing.T) {
	dir, layers := newReportFixture(t)
	layers[0].ratios = []float64{0.5}
	jsonPath, _ := writeManifests(t, dir, layers)
	out := filepath.Join(t.TempDir(), "p.svg")
	code, stdout, stderr := runCLI(t, "report", "--format", "json", "--plot", out, jsonPath)
	if code != 0 || !regexp.MustCompile(`^chanprune: warning: [^\n]*grids differ[^\n]*4 of 6[^\n]*\n$`).MatchString(stderr) {
		t.Fatalf("exit %d, stderr %q: want one warning that the grids differ", code, stderr)
	}
	var got struct{ Summary []summaryJSON }
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	for _, s := range got.Summary {
		if want := map[bool]int{true: 2, false: 1}[s.Ratio == 0.5]; s.Layers != want {
			t.Errorf("summary %s@%g: layers %d, want %d", s.Scores, s.Ratio, s.Layers, want)
		}
	}
	texts := svgTexts(t, out)
	if len(texts) == 0 || !strings.HasPrefix(texts[0], "mean over up to 2 layers: ") {
		t.Errorf("title %q: want it to say up to 2 layers", texts[:min(1, len(texts))])
	}
	// 4 partial points in each panel, each labelled with its count.
	if n := count(texts, "1/2"); n != 8 {
		t.Errorf("%d points labelled 1/2, want 8 (4 per panel)", n)
	}
	for _, note := range []string{"from fewer than all 2 layers (n/2 beside)", "bars: min–max over layers"} {
		if count(texts, note) != 1 {
			t.Errorf("the legend lacks %q: %q", note, texts)
		}
	}

	code, stdout, _ = runCLI(t, "report", "--format", "csv", jsonPath)
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if code != 0 || err != nil {
		t.Fatalf("csv: exit %d, %v", code, err)
	}
	for _, row := range rows[1:] {
		want := map[bool]string{true: "2", false: "1"}[row[3] == "0.5"]
		if row[0] == "layer" {
			want = ""
		}
		if row[7] != want {
			t.Errorf("csv row %q: layers %q, want %q", row, row[7], want)
		}
	}
	code, stdout, _ = runCLI(t, "report", jsonPath)
	if code != 0 || !strings.Contains(stdout, "layers") {
		t.Errorf("text: exit %d, no layers column:\n%s", code, stdout)
	}
}
