package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/tensorfile"
)

// writeSafetensors writes tensors to dir/name and returns its path.
func writeSafetensors(t *testing.T, dir, name string, tensors []tensorfile.Tensor) string {
	t.Helper()
	var b bytes.Buffer
	if err := tensorfile.WriteSafetensors(&b, tensors, nil); err != nil {
		t.Fatal(err)
	}
	return writeBytes(t, dir, name, b.Bytes())
}

// openOut opens a file prune --out wrote and checks its keys and metadata.
func openOut(t *testing.T, path string, keys []string, in int) *tensorfile.File {
	t.Helper()
	f, err := tensorfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if got := f.Keys(); !slices.Equal(got, keys) {
		t.Errorf("keys %v, want %v", got, keys)
	}
	if m := f.Metadata(); m[chanprune.LayerInFeatures] != strconv.Itoa(in) || m["format"] != "pt" {
		t.Errorf("metadata %v, want in_features %d and format pt", m, in)
	}
	return f
}

// readOut reads tensor key of f, checking its shape and dtype.
func readOut(t *testing.T, f *tensorfile.File, key string, shape []int, dtype tensorfile.Dtype) []float32 {
	t.Helper()
	a, err := f.Read(key)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Shape, shape) || a.Dtype != dtype {
		t.Fatalf("%s: shape %v dtype %v, want %v %v", key, a.Shape, a.Dtype, shape, dtype)
	}
	return a.Data
}

// readKeepOut reads keep of f and checks it is want.
func readKeepOut(t *testing.T, f *tensorfile.File, want []int) {
	t.Helper()
	shape, keep, err := f.ReadInt64("keep")
	if err != nil || !slices.Equal(shape, []int{len(want)}) || len(keep) != len(want) {
		t.Fatalf("keep: %v %v %v, want %v", shape, keep, err, want)
	}
	for i, c := range want {
		if keep[i] != int64(c) {
			t.Errorf("keep[%d] = %d, want %d", i, keep[i], c)
		}
	}
}

// TestPruneOut writes the pruned layer as one file, beside the .npy pair,
// and serves it with chanprune.LoadLayer: its Forward on full rows is the
// pruned layer's.
func TestPruneOut(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(f.dir, "pruned.safetensors")
	wk, keepNpy := filepath.Join(f.dir, "WK.npy"), filepath.Join(f.dir, "keep.npy")
	code, stdout, stderr := runCLI(t, "prune", "--weight", f.w, "--bias", f.b, "--scores", f.s, "--ratio", "0.5",
		"--out", out, "--out-weight", wk, "--out-keep", keepNpy)
	want := "kept 3 of 6 input channels (pruned 3 at ratio 0.5): " + wk + " [5, 3], " + keepNpy + " [3], " +
		out + " (weight [5, 3] float32, bias [5] float32, keep [3] int64)\n"
	if code != 0 || stdout != want {
		t.Fatalf("exit %d: %s\ngot  %q\nwant %q", code, stderr, stdout, want)
	}
	file := openOut(t, out, []string{"bias", "keep", "weight"}, 6)
	w, _ := tensorfile.Read(tensorfile.Ref{Path: f.w})
	b, _ := tensorfile.Read(tensorfile.Ref{Path: f.b})
	kept := []int{2, 4, 5}
	readKeepOut(t, file, kept)
	gotW := readOut(t, file, "weight", []int{5, 3}, tensorfile.Float32)
	if npyW, _ := tensorfile.Read(tensorfile.Ref{Path: wk}); !slices.Equal(gotW, npyW.Data) {
		t.Errorf("weight %v, want %s's %v", gotW, wk, npyW.Data)
	}
	if gotB := readOut(t, file, "bias", []int{5}, tensorfile.Float32); !slices.Equal(gotB, b.Data) {
		t.Errorf("bias %v, want %v", gotB, b.Data)
	}

	loaded, err := chanprune.LoadLayer(out)
	if err != nil {
		t.Fatal(err)
	}
	layer := chanprune.Linear{In: 6, Out: 5, Weight: w.Data, Bias: b.Data}
	pruned, err := chanprune.Compact(layer, kept)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := tensorfile.Read(tensorfile.Ref{Path: f.x1})
	got, wantY := make([]float32, 4*5), make([]float32, 4*5)
	if err := loaded.Forward(got, x.Data); err != nil {
		t.Fatal(err)
	}
	if err := pruned.Forward(wantY, x.Data); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, wantY) {
		t.Errorf("the loaded layer gives %v, want %v", got, wantY)
	}
}

// TestPruneOutKeepsDtype prunes a bfloat16 weight with a float16 bias:
// --out stores them in those dtypes, the values unchanged.
func TestPruneOutKeepsDtype(t *testing.T) {
	dir := t.TempDir()
	w := fill(12, func(i int) float32 { return float32(i)*0.375 - 2 }) // [3, 4], exact in bfloat16
	bias := []float32{0.5, -0.25, 0}
	bias[2] = math.Float32frombits(0x3a832000) // 0.0010004…: a float16, not a bfloat16
	in := writeSafetensors(t, dir, "layer.safetensors", []tensorfile.Tensor{
		{Name: "w", Shape: []int{3, 4}, Dtype: tensorfile.BFloat16, Floats: w},
		{Name: "b", Shape: []int{3}, Dtype: tensorfile.Float16, Floats: bias},
	})
	s := writeNpy(t, dir, "s.npy", []int{4}, []float32{4, 1, 3, 2})
	out := filepath.Join(dir, "out.safetensors")
	code, stdout, stderr := runCLI(t, "prune", "--weight", in+"#w", "--bias", in+"#b", "--scores", s, "--ratio", "0.5", "--out", out)
	if code != 0 || !strings.Contains(stdout, "weight [3, 2] bfloat16, bias [3] float16, keep [2] int64") {
		t.Fatalf("exit %d: %s%s", code, stderr, stdout)
	}
	file := openOut(t, out, []string{"bias", "keep", "weight"}, 4)
	readKeepOut(t, file, []int{0, 2})
	if got := readOut(t, file, "weight", []int{3, 2}, tensorfile.BFloat16); !slices.Equal(got, []float32{w[0], w[2], w[4], w[6], w[8], w[10]}) {
		t.Errorf("weight %v", got)
	}
	if got := readOut(t, file, "bias", []int{3}, tensorfile.Float16); !slices.Equal(got, bias) {
		t.Errorf("bias %v, want %v", got, bias)
	}
}

func TestPruneOutBadInputs(t *testing.T) {
	f := newFixture(t)
	out := filepath.Join(f.dir, "out.safetensors")
	base := []string{"prune", "--weight", f.w, "--scores", f.s, "--ratio", "0.5"}
	up := writeNpy(t, f.dir, "up.npy", []int{6, 2}, make([]float32, 12))
	narrow := writeNpy(t, f.dir, "narrow.npy", []int{6, 3}, make([]float32, 18))
	short := writeNpy(t, f.dir, "short.npy", []int{5, 2}, make([]float32, 10))
	for _, tc := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"half the npy pair", append(base, "--out", out, "--out-weight", filepath.Join(f.dir, "WK.npy")), "--out-keep"},
		{"couple without out", append(base, "--out-weight", filepath.Join(f.dir, "WK.npy"), "--out-keep", filepath.Join(f.dir, "k.npy"), "--couple", up), "--couple needs --out"},
		{"couple-bias without couple", append(base, "--out", out, "--couple-bias", f.b), "--couple-bias"},
		{"three coupled", append(base, "--out", out, "--couple", up+","+up+","+up), "UP,GATE"},
		{"empty coupled", append(base, "--out", out, "--couple", up+","), "UP,GATE"},
		{"coupled rows", append(base, "--out", out, "--couple", short), "short.npy"},
		{"gate unlike up", append(base, "--out", out, "--couple", up+","+narrow), "narrow.npy"},
		{"one bias for two", append(base, "--out", out, "--couple", up+","+up, "--couple-bias", f.s), "--couple-bias"},
		{"coupled bias length", append(base, "--out", out, "--couple", up, "--couple-bias", f.b), "--couple-bias"},
		{"out over the weight", append(base, "--out", f.w), "--out"},
		{"out over a coupled layer", append(base, "--out", up, "--couple", up), "--out"},
		{"out named npy", append(base, "--out", filepath.Join(f.dir, "p.npy")), "give it a .safetensors name"},
		{"out-weight named safetensors", append(base, "--out-weight", filepath.Join(f.dir, "WK.safetensors"), "--out-keep", filepath.Join(f.dir, "k.npy")), "--out-weight"},
		{"out-keep named npz", append(base, "--out-weight", filepath.Join(f.dir, "WK.npy"), "--out-keep", filepath.Join(f.dir, "k.NPZ")), "give it a .npy name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line naming %q", code, stderr, stdout, tc.mention)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s written", out)
			}
		})
	}
}
