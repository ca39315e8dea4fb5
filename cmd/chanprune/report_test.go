package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// reportLayer is one generated layer of a report fixture, its files
// relative to the fixture's directory.
type reportLayer struct {
	name, method          string
	w, b, a, s2           string // weight, bias ("" for none), two score sets
	batches               []string
	in, out               int
	ratios                []float64
	scoresAsList, hasBias bool
}

// newReportFixture writes two small layers of different shapes, each with
// two score sets and two batches, under dir/l0 and dir/l1.
func newReportFixture(t *testing.T) (dir string, layers []reportLayer) {
	dir = t.TempDir()
	specs := []struct {
		in, out int
		bias    bool
		method  string
	}{{6, 5, true, ""}, {8, 4, false, "direct"}}
	for li, sp := range specs {
		sub := fmt.Sprintf("l%d", li)
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		rel := func(name string) string { return sub + "/" + name }
		at := filepath.Join(dir, sub)
		seed := float32(li + 1)
		l := reportLayer{name: fmt.Sprintf("model.layers.%d.proj", li), method: sp.method, in: sp.in, out: sp.out,
			ratios: []float64{0.25, 0.5, 0.75}, scoresAsList: li == 1, hasBias: sp.bias}
		writeNpy(t, at, "W.npy", []int{sp.out, sp.in}, fill(sp.out*sp.in, func(i int) float32 { return float32((i*int(seed)+3)%7) - 3 }))
		l.w = rel("W.npy")
		if sp.bias {
			writeNpy(t, at, "b.npy", []int{sp.out}, fill(sp.out, func(i int) float32 { return float32(i) / 4 }))
			l.b = rel("b.npy")
		}
		writeNpy(t, at, "a.npy", []int{sp.in}, fill(sp.in, func(i int) float32 { return float32((i * 5) % sp.in) }))
		writeNpy(t, at, "s2.npy", []int{sp.in}, fill(sp.in, func(i int) float32 { return float32(sp.in - i) }))
		l.a, l.s2 = rel("a.npy"), rel("s2.npy")
		writeNpy(t, at, "x0.npy", []int{2, 3, sp.in}, fill(6*sp.in, func(i int) float32 { return float32(i%5) - 2 + seed/10 }))
		writeNpy(t, at, "x1.npy", []int{4, sp.in}, fill(4*sp.in, func(i int) float32 { return float32(i%3) - 1 }))
		l.batches = []string{rel("x0.npy"), rel("x1.npy")}
		layers = append(layers, l)
	}
	return dir, layers
}

func (l reportLayer) json() string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"name": %q, "weight": %q, `, l.name, l.w)
	if l.hasBias {
		fmt.Fprintf(&b, `"bias": %q, `, l.b)
	}
	if l.scoresAsList {
		fmt.Fprintf(&b, `"scores": [{"a": %q}, {"s2": %q}], `, l.a, l.s2)
	} else {
		fmt.Fprintf(&b, `"scores": {"a": %q, "s2": %q}, `, l.a, l.s2)
	}
	q := make([]string, len(l.batches))
	for i, f := range l.batches {
		q[i] = strconv.Quote(f)
	}
	fmt.Fprintf(&b, `"batches": [%s], "ratios": [%s]`, strings.Join(q, ", "), l.ratioList())
	if l.method != "" {
		fmt.Fprintf(&b, `, "method": %q`, l.method)
	}
	return b.String() + "}"
}

func (l reportLayer) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    weight: %s\n", l.name, l.w)
	if l.hasBias {
		fmt.Fprintf(&b, "    bias: %s\n", l.b)
	}
	if l.scoresAsList {
		fmt.Fprintf(&b, "    scores:\n      - a: %s\n      - s2: %s\n", l.a, l.s2)
	} else {
		fmt.Fprintf(&b, "    scores:\n      a: %s\n      s2: %s\n", l.a, l.s2)
	}
	fmt.Fprintf(&b, "    batches:\n")
	for _, f := range l.batches {
		fmt.Fprintf(&b, "      - %s\n", f)
	}
	fmt.Fprintf(&b, "    ratios: [%s]\n", l.ratioList())
	if l.method != "" {
		fmt.Fprintf(&b, "    method: %s\n", l.method)
	}
	return b.String()
}

// ratioList is the layer's ratios as a manifest lists them.
func (l reportLayer) ratioList() string {
	r := make([]string, len(l.ratios))
	for i, v := range l.ratios {
		r[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(r, ", ")
}

func writeManifests(t *testing.T, dir string, layers []reportLayer) (jsonPath, yamlPath string) {
	var js, ys []string
	for _, l := range layers {
		js = append(js, l.json())
		ys = append(ys, l.yaml())
	}
	jsonPath = writeBytes(t, dir, "model.json", []byte(`{"layers": [`+strings.Join(js, ",\n")+"]}\n"))
	yamlPath = writeBytes(t, dir, "model.yaml", []byte("# two layers\nlayers:\n"+strings.Join(ys, "")))
	return jsonPath, yamlPath
}

func TestReport(t *testing.T) {
	dir, layers := newReportFixture(t)
	jsonPath, yamlPath := writeManifests(t, dir, layers)

	// Run from elsewhere: references resolve against the manifest's directory.
	code, stdout, stderr := runCLI(t, "report", "--format", "json", jsonPath)
	if code != 0 || stderr != "" {
		t.Fatalf("json manifest: exit %d: %s", code, stderr)
	}
	var got reportJSON
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	code, yamlOut, stderr := runCLI(t, "report", "--format", "json", yamlPath)
	if code != 0 || yamlOut != stdout {
		t.Errorf("the YAML manifest's report differs (exit %d: %s):\n%s\nvs\n%s", code, stderr, yamlOut, stdout)
	}
	if len(got.Layers) != 2 {
		t.Fatalf("%d layers, want 2", len(got.Layers))
	}

	// Each layer's points are sweep's for that layer.
	for i, l := range layers {
		r := got.Layers[i]
		if r.Name != l.name || r.In != l.in || r.Out != l.out || r.Batches != 2 || len(r.Points) != 6 {
			t.Fatalf("layer %d: %+v", i, r)
		}
		args := []string{"sweep", "--format", "json", "--weight", filepath.Join(dir, l.w), "--ratios", "0.25,0.5,0.75",
			"--scores", "a=" + filepath.Join(dir, l.a), "--scores", "s2=" + filepath.Join(dir, l.s2)}
		if l.hasBias {
			args = append(args, "--bias", filepath.Join(dir, l.b))
		}
		if l.method != "" {
			args = append(args, "--method", l.method)
		}
		for _, b := range l.batches {
			args = append(args, filepath.Join(dir, b))
		}
		code, out, stderr := runCLI(t, args...)
		var want []pointJSON
		if code != 0 || json.Unmarshal([]byte(out), &want) != nil {
			t.Fatalf("sweep: exit %d: %s", code, stderr)
		}
		for j := range want {
			if r.Points[j] != want[j] {
				t.Errorf("layer %s point %d: report %+v, sweep %+v", l.name, j, r.Points[j], want[j])
			}
		}
	}

	// The summary: mean, population std, min and max over the layers.
	if len(got.Summary) != 6 {
		t.Fatalf("%d summary rows, want 6", len(got.Summary))
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
	for j, s := range got.Summary {
		x, y := got.Layers[0].Points[j], got.Layers[1].Points[j]
		if s.Scores != x.Scores || s.Ratio != x.Ratio || s.Layers != 2 {
			t.Fatalf("summary %d: %+v for %+v", j, s, x)
		}
		for _, c := range []struct {
			name string
			got  statsJSON
			a, b float64
		}{{"rmse", s.RMSE, x.RMSE, y.RMSE}, {"cosine", s.CosineSimilarity, x.CosineSimilarity, y.CosineSimilarity}} {
			mean := (c.a + c.b) / 2
			std := math.Sqrt(((c.a-mean)*(c.a-mean) + (c.b-mean)*(c.b-mean)) / 2)
			if !near(c.got.Mean, mean) || !near(c.got.Std, std) || c.got.Min != math.Min(c.a, c.b) || c.got.Max != math.Max(c.a, c.b) {
				t.Errorf("summary %s@%g %s: %+v, want mean %g std %g of %g and %g", s.Scores, s.Ratio, c.name, c.got, mean, std, c.a, c.b)
			}
		}
	}

	// CSV: the layer rows, then mean, std, min and max per pair.
	code, stdout, stderr = runCLI(t, "report", "--format", "csv", yamlPath)
	if code != 0 {
		t.Fatalf("csv: exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != 1+12+6*4 || strings.Join(rows[0], ",") != "kind,layer,scores,ratio,num_pruned,rmse,cosine_similarity,layers,method,kernel,ties_at_cut,compensation,damp,fit_tokens,fit" {
		t.Fatalf("csv: %v\n%s", err, stdout)
	}
	for i, row := range rows[1:13] {
		p := got.Layers[i/6].Points[i%6]
		rmse, _ := strconv.ParseFloat(row[5], 64)
		if row[0] != "layer" || row[1] != got.Layers[i/6].Name || row[2] != p.Scores || rmse != p.RMSE {
			t.Errorf("csv row %v, json %+v", row, p)
		}
	}
	for i, row := range rows[13:] {
		s := got.Summary[i/4]
		cos, _ := strconv.ParseFloat(row[6], 64)
		want := []float64{s.CosineSimilarity.Mean, s.CosineSimilarity.Std, s.CosineSimilarity.Min, s.CosineSimilarity.Max}[i%4]
		if row[0] != []string{"mean", "std", "min", "max"}[i%4] || row[2] != s.Scores || cos != want || row[7] != strconv.Itoa(s.Layers) {
			t.Errorf("csv summary row %v, json %+v", row, s)
		}
	}

	// Text: both tables.
	code, stdout, stderr = runCLI(t, "report", jsonPath)
	if code != 0 || stderr != "" {
		t.Fatalf("text: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"2 layers", "model.layers.1.proj", "8 → 4", "across layers", "cosine mean"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text lacks %q:\n%s", want, stdout)
		}
	}
}

func TestReportOut(t *testing.T) {
	dir, layers := newReportFixture(t)
	jsonPath, _ := writeManifests(t, dir, layers)
	_, want, _ := runCLI(t, "report", "--format", "json", jsonPath)
	outDir := t.TempDir()
	out := writeBytes(t, outDir, "report.json", []byte("old"))

	// A failing run leaves the old file as it was.
	badLayer := layers[1]
	badLayer.batches = []string{badLayer.batches[0], layers[0].batches[0]} // in 6, not 8
	bad := writeBytes(t, dir, "bad.json", []byte(`{"layers": [`+layers[0].json()+", "+badLayer.json()+"]}"))
	code, stdout, stderr := runCLI(t, "report", "--format", "json", "--out", out, bad)
	if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, `layer "model.layers.1.proj"`) || stdout != "" {
		t.Errorf("bad batch: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Errorf("after a failed run --out holds %q", b)
	}

	code, stdout, stderr = runCLI(t, "report", "--format", "json", "--out", out, jsonPath)
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != want {
		t.Errorf("--out holds\n%s\nwant\n%s", b, want)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 1 {
		t.Errorf("%d files beside --out, want 1 (no temporaries)", len(entries))
	}
	code, _, stderr = runCLI(t, "report", "--out", filepath.Join(outDir, "missing", "r.txt"), jsonPath)
	if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "--out") {
		t.Errorf("--out in a missing directory: exit %d, %q", code, stderr)
	}
}

func TestReportBadManifests(t *testing.T) {
	dir, layers := newReportFixture(t)
	l0 := layers[0]
	name := `layer "model.layers.0.proj"`
	const scoresYAML = "    scores:\n      a: l0/a.npy\n      s2: l0/s2.npy\n"
	if !strings.Contains(l0.yaml(), scoresYAML) {
		t.Fatalf("the fixture's YAML changed:\n%s", l0.yaml())
	}
	for _, tc := range []struct {
		name, file, text string
		mention          []string
	}{
		{"unknown field", "m.json", strings.Replace(l0.json(), `"weight"`, `"wieght"`, 1), []string{name, `"wieght"`}},
		{"unknown field in YAML", "m.yaml", strings.Replace(l0.yaml(), "batches:", "batchs:", 1), []string{name, `"batchs"`}},
		{"missing weight", "m.yaml", strings.Replace(l0.yaml(), "    weight: l0/W.npy\n", "", 1), []string{name, "weight is required"}},
		{"missing scores", "m.yaml", strings.Replace(l0.yaml(), scoresYAML, "", 1), []string{name, "scores is required"}},
		{"ratio above one", "m.json", strings.Replace(l0.json(), "0.75", "1.5", 1), []string{name, "ratios[2]", "1.5"}},
		{"ratio a string", "m.yaml", strings.Replace(l0.yaml(), "0.75", `"0.75"`, 1), []string{name, "ratios[2]"}},
		{"ratio twice", "m.yaml", strings.Replace(l0.yaml(), "0.75", "0.5", 1), []string{name, "ratios", "twice"}},
		{"no ratios", "m.json", strings.Replace(l0.json(), "0.25, 0.5, 0.75", "", 1), []string{name, "ratios"}},
		{"missing batch file", "m.json", strings.Replace(l0.json(), "l0/x1.npy", "l0/nope.npy", 1), []string{name, "batches[1]", "nope.npy"}},
		{"missing weight file", "m.yaml", strings.Replace(l0.yaml(), "l0/W.npy", "l0/V.npy", 1), []string{name, "weight", "V.npy"}},
		{"missing score file", "m.yaml", strings.Replace(l0.yaml(), "l0/s2.npy", "l0/s3.npy", 1), []string{name, "scores s2", "s3.npy"}},
		{"bad method", "m.json", strings.Replace(l0.json(), `"ratios"`, `"method": "fast", "ratios"`, 1), []string{name, "method", "fast"}},
		{"scores not a map", "m.yaml", strings.Replace(l0.yaml(), scoresYAML, "    scores: l0/a.npy\n", 1), []string{name, "scores: want a map"}},
		{"no score sets", "m.yaml", strings.Replace(l0.yaml(), scoresYAML, "    scores: {}\n", 1), []string{name, "scores: no score sets"}},
		{"score name twice", "m.yaml", strings.Replace(l0.yaml(), scoresYAML, "    scores: [a: l0/a.npy, a: l0/s2.npy]\n", 1), []string{name, "twice"}},
		{"weight not a string", "m.json", strings.Replace(l0.json(), `"l0/W.npy"`, "3", 1), []string{name, "weight"}},
		{"no name", "m.json", strings.Replace(l0.json(), `"name": "model.layers.0.proj", `, "", 1), []string{"layer 1", "name is required"}},
		{"same name twice", "m.json", l0.json() + ", " + l0.json(), []string{name, "layer 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.text
			if tc.file == "m.json" {
				text = `{"layers": [` + text + "]}"
			} else {
				text = "layers:\n" + text
			}
			path := writeBytes(t, dir, tc.file, []byte(text))
			code, stdout, stderr := runCLI(t, "report", path)
			if code != 1 || !errLine.MatchString(stderr) || stdout != "" {
				t.Fatalf("exit %d, stderr %q, stdout %q; want exit 1 and one line", code, stderr, stdout)
			}
			for _, m := range tc.mention {
				if !strings.Contains(stderr, m) {
					t.Errorf("%q does not name %s", stderr, m)
				}
			}
		})
	}
	for _, tc := range []struct{ name, file, text, mention string }{
		{"unknown top-level field", "t.yaml", "layers: []\nmodel: x\n", `"model"`},
		{"no layers", "t.json", `{"layers": []}`, "layers"},
		{"not JSON", "t.json", `{"layers": [}`, "t.json"},
		{"data after JSON", "t.json", `{"layers": [` + l0.json() + `]} {}`, "after"},
		{"not YAML", "t.yaml", "layers: [\n", "t.yaml"},
		{"other extension", "t.toml", "", ".toml"},
		{"missing manifest", "", "", "nope.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "nope.yaml")
			if tc.file != "" {
				path = writeBytes(t, dir, tc.file, []byte(tc.text))
			}
			code, stdout, stderr := runCLI(t, "report", path)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line naming %q", code, stderr, stdout, tc.mention)
			}
		})
	}
	// Errors found while evaluating name the layer too.
	short := l0
	short.a = l0.b // 5 scores for 6 channels
	path := writeBytes(t, dir, "short.json", []byte(`{"layers": [`+short.json()+"]}"))
	if code, _, stderr := runCLI(t, "report", path); code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, name) ||
		!strings.Contains(stderr, "scores a=") {
		t.Errorf("short scores: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{{"report"}, {"report", "a.json", "b.json"}, {"report", "--format", "xml", path}} {
		if code, _, stderr := runCLI(t, args...); code != 1 || !errLine.MatchString(stderr) {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
}

func TestPlot(t *testing.T) {
	dir, layers := newReportFixture(t)
	_, yamlPath := writeManifests(t, dir, layers)
	l := layers[0]
	sweep := []string{"sweep", "--weight", filepath.Join(dir, l.w), "--ratios", "0.25,0.5,0.75",
		"--scores", "a=" + filepath.Join(dir, l.a), "--scores", "s2=" + filepath.Join(dir, l.s2), filepath.Join(dir, l.batches[0])}
	out := t.TempDir()
	for _, cmd := range [][]string{{"report", yamlPath}, sweep} {
		for _, tc := range []struct{ file, magic string }{{"p.svg", "<?xml"}, {"p.SVG", "<svg"}, {"p.png", "\x89PNG\r\n\x1a\n"}} {
			path := filepath.Join(out, tc.file)
			os.Remove(path)
			code, stdout, stderr := runCLI(t, append(cmd, "--plot", path)...)
			if code != 0 || stderr != "" || stdout == "" {
				t.Fatalf("%s --plot %s: exit %d: %s", cmd[0], tc.file, code, stderr)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.magic == "\x89PNG\r\n\x1a\n" && !bytes.HasPrefix(b, []byte(tc.magic)) ||
				tc.magic != "\x89PNG\r\n\x1a\n" && !bytes.HasPrefix(b, []byte("<?xml")) && !bytes.HasPrefix(b, []byte("<svg")) {
				t.Errorf("%s --plot %s starts with %q", cmd[0], tc.file, b[:min(len(b), 16)])
			}
			if tc.magic != "\x89PNG\r\n\x1a\n" {
				for _, want := range []string{"prune ratio", "RMSE", "cosine similarity", "s2"} {
					if !bytes.Contains(b, []byte(want)) {
						t.Errorf("%s --plot %s lacks %q", cmd[0], tc.file, want)
					}
				}
			}
		}
		for _, bad := range []string{"p.pdf", "p", "p.svg.gz"} {
			code, stdout, stderr := runCLI(t, append(cmd, "--plot", filepath.Join(out, bad))...)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "--plot") || stdout != "" {
				t.Errorf("%s --plot %s: exit %d, %q", cmd[0], bad, code, stderr)
			}
			if _, err := os.Stat(filepath.Join(out, bad)); err == nil {
				t.Errorf("%s --plot %s wrote the file", cmd[0], bad)
			}
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 2 && len(entries) != 3 { // p.svg, p.png (p.SVG on case-sensitive systems)
		t.Errorf("%d files in the plot directory: temporaries left?", len(entries))
	}
}

// Manifests take the tensor references of the command line: FILE#KEY in
// containers, containers of batches, stacked batches.
func TestReportTensorReferences(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"layer.safetensors", "layer.npz", "acts.npz", "stacked.npy"} {
		b, err := os.ReadFile(tensorFixture(name))
		if err != nil {
			t.Fatal(err)
		}
		writeBytes(t, dir, name, b)
	}
	manifest := `layers:
  - name: st
    weight: layer.safetensors#weight
    bias: layer.safetensors#bias
    scores: {s: layer.safetensors#scores}
    batches: [acts.npz]
    ratios: [0.5, 0.25]
  - name: stacked
    weight: layer.npz#weight_f
    bias: layer.npz#bias
    scores: [s: layer.npz#scores]
    batches: [stacked.npy]
    stacked: true
    ratios: [0.5, 0.25]
`
	path := writeBytes(t, dir, "m.yml", []byte(manifest))
	code, stdout, stderr := runCLI(t, "report", "--format", "json", path)
	var got reportJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	in := func(ref string) string { return filepath.Join(dir, ref) }
	for i, args := range [][]string{
		{"--weight", in("layer.safetensors#weight"), "--bias", in("layer.safetensors#bias"), "--scores", "s=" + in("layer.safetensors#scores"), in("acts.npz")},
		{"--weight", in("layer.npz#weight_f"), "--bias", in("layer.npz#bias"), "--scores", "s=" + in("layer.npz#scores"), "--stacked", in("stacked.npy")},
	} {
		code, out, stderr := runCLI(t, append([]string{"sweep", "--format", "json", "--ratios", "0.5,0.25"}, args...)...)
		var want []pointJSON
		if code != 0 || json.Unmarshal([]byte(out), &want) != nil {
			t.Fatalf("sweep: exit %d: %s", code, stderr)
		}
		if r := got.Layers[i]; !slices.Equal(r.Points, want) || r.Batches < 2 {
			t.Errorf("layer %s: report %+v, sweep %+v", r.Name, r, want)
		}
	}

	for _, tc := range []struct{ name, old, new, mention string }{
		{"wrong key", "layer.safetensors#weight", "layer.safetensors#wieght", "wieght"},
		{"wrong batch key", "[acts.npz]", "[acts.npz#batch_3]", "batch_3"},
		{"container without key", "layer.npz#bias", "layer.npz", "name one with FILE#KEY"},
		{"stacked not a bool", "stacked: true", `stacked: "yes"`, "stacked"},
		{"stacked container without key", "[stacked.npy]", "[layer.safetensors]", "FILE#KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeBytes(t, dir, "bad.yaml", []byte(strings.Replace(manifest, tc.old, tc.new, 1)))
			code, stdout, stderr := runCLI(t, "report", path)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "layer ") || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %q; want one line naming the layer and %q", code, stderr, tc.mention)
			}
		})
	}
}
