package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tensorFixture names a file of testdata/tensors (written by
// scripts/make_tensor_fixtures.py with newFixture's values; x2 is
// fill(24, i%4 - 1.5) as [4, 6]).
func tensorFixture(name string) string { return filepath.Join("..", "..", "testdata", "tensors", name) }

func writeX2(t *testing.T, f fixture) string {
	return writeNpy(t, f.dir, "x2.npy", []int{4, 6}, fill(24, func(i int) float32 { return float32(i%4) - 1.5 }))
}

// evalJSONOf runs eval --format json and decodes its output.
func evalJSONOf(t *testing.T, args ...string) evalJSON {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"eval", "--format", "json", "--ratio", "0.5"}, args...)...)
	var m evalJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &m) != nil {
		t.Fatalf("eval %q: exit %d: %s", args, code, stderr)
	}
	return m
}

// sameMetrics compares everything but the batch names.
func sameMetrics(a, b evalJSON) bool {
	if a.RMSE != b.RMSE || a.CosineSimilarity != b.CosineSimilarity || a.NumPruned != b.NumPruned || len(a.PerBatch) != len(b.PerBatch) {
		return false
	}
	for i := range a.PerBatch {
		x, y := a.PerBatch[i], b.PerBatch[i]
		if x.Tokens != y.Tokens || x.RMSE != y.RMSE || x.CosineSimilarity != y.CosineSimilarity {
			return false
		}
	}
	return true
}

func batchFiles(m evalJSON) []string {
	var names []string
	for _, b := range m.PerBatch {
		names = append(names, b.File)
	}
	return names
}

// The layer, scores and batches read from .safetensors, .npz and .pt files
// give the numbers the same values give from .npy files.
func TestEvalFromContainers(t *testing.T) {
	f := newFixture(t)
	x2 := writeX2(t, f)
	npyLayer := []string{"--weight", f.w, "--bias", f.b, "--scores", f.s}
	want := evalJSONOf(t, append(npyLayer, f.x0, f.x1, x2)...)
	wantStacked := evalJSONOf(t, append(npyLayer, f.x1, x2)...)
	tf := tensorFixture
	for _, tc := range []struct {
		name  string
		args  []string
		want  evalJSON
		files []string
	}{
		{"safetensors layer, npz batches",
			[]string{"--weight", tf("layer.safetensors#weight"), "--bias", tf("layer.safetensors#bias"),
				"--scores", tf("layer.safetensors#scores"), tf("acts.npz")},
			want, []string{tf("acts.npz#batch_1"), tf("acts.npz#batch_2"), tf("acts.npz#batch_10")}},
		{"pt layer and rank_0.pth scores, pt batches",
			[]string{"--weight", tf("layer.pt#weight"), "--bias", tf("layer.pt#bias"),
				"--scores", tf("rank_0.pth#decoder.layers.1.mlp.linear_fc2/score"), tf("acts.pt")},
			want, []string{tf("acts.pt#0"), tf("acts.pt#1"), tf("acts.pt#2")}},
		{"npz layer in Fortran order, deflated npz batches by key",
			[]string{"--weight", tf("layer.npz#weight_f"), "--bias", tf("layer.npz#bias"), "--scores", tf("layer.npz#scores"),
				tf("acts_compressed.npz#batch_1"), tf("acts.pt#1"), x2},
			want, []string{tf("acts_compressed.npz#batch_1"), tf("acts.pt#1"), x2}},
		{"stacked npy", append(slices.Clone(npyLayer), "--stacked", tf("stacked.npy")),
			wantStacked, []string{tf("stacked.npy") + "[0]", tf("stacked.npy") + "[1]"}},
		{"stacked safetensors and pt", append(slices.Clone(npyLayer), "--stacked", tf("layer.safetensors#acts"), tf("stacked.pt")),
			evalJSONOf(t, append(npyLayer, f.x1, x2, f.x1, x2)...),
			[]string{tf("layer.safetensors#acts") + "[0]", tf("layer.safetensors#acts") + "[1]", tf("stacked.pt") + "[0]", tf("stacked.pt") + "[1]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := evalJSONOf(t, tc.args...)
			if !sameMetrics(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if files := batchFiles(got); !slices.Equal(files, tc.files) {
				t.Errorf("batches %q, want %q", files, tc.files)
			}
		})
	}
}

func TestSweepScoreAndPruneFromContainers(t *testing.T) {
	f := newFixture(t)
	x2 := writeX2(t, f)
	tf := tensorFixture
	score := tf("rank_0.pth#decoder.layers.0.mlp.linear_fc2/score")

	sweep := func(scores string, batches ...string) string {
		args := append([]string{"sweep", "--format", "csv", "--weight", f.w, "--bias", f.b, "--scores", "s=" + scores, "--ratios", "0.2,0.5"}, batches...)
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("sweep: exit %d: %s", code, stderr)
		}
		return stdout
	}
	if a, b := sweep(f.s, f.x1, x2), sweep(score, "--stacked", tf("stacked.pt")); a != b {
		t.Errorf("sweep from .npy:\n%s\nfrom rank_0.pth and stacked.pt:\n%s", a, b)
	}

	scoreOut := func(name string, batches ...string) []float32 {
		out := filepath.Join(f.dir, name)
		args := append([]string{"score", "--method", "l2norm", "--weight", tf("layer.safetensors#weight"), "--out", out}, batches...)
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("score: exit %d: %s", code, stderr)
		}
		return readScores(t, out, 6)
	}
	if a, b := scoreOut("a.npy", f.x1, x2), scoreOut("b.npy", "--stacked", tf("stacked.npy")); !sameBits(a, b) {
		t.Errorf("score over .npy %v, over --stacked %v", a, b)
	}

	prune := func(dir, weight, scores string) []byte {
		wk, keep := filepath.Join(dir, "wk.npy"), filepath.Join(dir, "keep.npy")
		if code, _, stderr := runCLI(t, "prune", "--weight", weight, "--scores", scores, "--ratio", "0.5",
			"--out-weight", wk, "--out-keep", keep); code != 0 {
			t.Fatalf("prune: exit %d: %s", code, stderr)
		}
		a, _ := os.ReadFile(wk)
		b, _ := os.ReadFile(keep)
		return append(a, b...)
	}
	if a, b := prune(t.TempDir(), f.w, f.s), prune(t.TempDir(), tf("layer.pt#weight"), score); !bytes.Equal(a, b) {
		t.Error("prune from .pt and rank_0.pth differs from prune from .npy")
	}
}

// torchWith builds a torch.save-like file around a hand-made pickle.
func torchWith(t *testing.T, dir, name, pickle string) string {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	p, err := w.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Store})
	if err == nil {
		_, err = p.Write([]byte(pickle))
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return writeBytes(t, dir, name, buf.Bytes())
}

func TestTensorRefErrors(t *testing.T) {
	f := newFixture(t)
	tf := tensorFixture
	// GLOBAL os.system, then REDUCE ("id",): what pickle.loads would run.
	evil := torchWith(t, f.dir, "evil.pt", "\x80\x02cos\nsystem\nX\x02\x00\x00\x00idq\x00\x85R.")
	layer := []string{"eval", "--weight", f.w, "--scores", f.s, "--ratio", "0.5"}
	for _, tc := range []struct {
		name     string
		args     []string
		mentions []string
	}{
		{"wrong weight key", []string{"eval", "--weight", tf("layer.safetensors#wieght"), "--scores", f.s, "--ratio", "0.5", f.x0},
			[]string{"--weight", "wieght", "acts, bias, ids, scores, weight"}},
		{"container without key", []string{"eval", "--weight", tf("layer.npz"), "--scores", f.s, "--ratio", "0.5", f.x0},
			[]string{"--weight", "FILE#KEY", "4 tensors: bias, scores, weight, weight_f"}},
		{"wrong batch key", append(slices.Clone(layer), tf("acts.npz#batch_3")),
			[]string{"batch " + tf("acts.npz#batch_3"), "batch_1, batch_2, batch_10"}},
		{"dict key is a level", []string{"sweep", "--weight", f.w, "--scores", "s=" + tf("rank_0.pth#decoder.layers.0.mlp.linear_fc2"),
			"--ratios", "0.5", f.x0}, []string{"s=", "is a dict", "decoder.layers.0.mlp.linear_fc2/score"}},
		{"int64 tensor", []string{"eval", "--weight", f.w, "--scores", tf("layer.safetensors#ids"), "--ratio", "0.5", f.x0},
			[]string{"--scores", "I64"}},
		{"forbidden global as weight", []string{"eval", "--weight", evil, "--scores", f.s, "--ratio", "0.5", f.x0},
			[]string{"--weight", "evil.pt", "os.system"}},
		{"forbidden global as batch", append(slices.Clone(layer), evil), []string{"batch", "evil.pt", "os.system"}},
		{"stacked container without key", append(slices.Clone(layer), "--stacked", tf("layer.safetensors")),
			[]string{"batch", "FILE#KEY", "acts"}},
		{"stacked Fortran array", append(slices.Clone(layer), "--stacked", tf("layer.npz#weight_f")),
			[]string{"batch", "weight_f", "C order"}},
		{"stacked rows of the wrong width", append(slices.Clone(layer), "--stacked", tf("layer.npz#bias")),
			[]string{"batch " + tf("layer.npz#bias") + "[0]", "input channels"}},
		{"pt of nested dicts as batches", append(slices.Clone(layer), tf("rank_0.pth")),
			[]string{"batch", "rank_0.pth", "FILE#KEY"}},
		{"key on a .npy", append(slices.Clone(layer), f.x0+"#a"), []string{"batch", "x0.npy#a", "no #KEY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 || !errLine.MatchString(stderr) || stdout != "" {
				t.Fatalf("exit %d, stderr %q, stdout %q; want exit 1 and one line", code, stderr, stdout)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(stderr, m) {
					t.Errorf("%q lacks %q", stderr, m)
				}
			}
		})
	}
}
