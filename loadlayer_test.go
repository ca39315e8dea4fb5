package chanprune

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/tensorfile"
)

// layerFile writes tensors and metadata to a .safetensors file.
func layerFile(t *testing.T, tensors []tensorfile.Tensor, meta map[string]string) string {
	t.Helper()
	var b bytes.Buffer
	if err := tensorfile.WriteSafetensors(&b, tensors, meta); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "layer.safetensors")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// compactTensors are the tensors of a pruned-layer file for l and keep.
func compactTensors(l Linear, keep []int, dtype tensorfile.Dtype) []tensorfile.Tensor {
	wk := make([]float32, 0, l.Out*len(keep))
	for o := range l.Out {
		for _, c := range keep {
			wk = append(wk, l.Weight[o*l.In+c])
		}
	}
	k := make([]int64, len(keep))
	for i, c := range keep {
		k[i] = int64(c)
	}
	ts := []tensorfile.Tensor{
		{Name: "weight", Shape: []int{l.Out, len(keep)}, Dtype: dtype, Floats: wk},
		{Name: "keep", Shape: []int{len(keep)}, Dtype: tensorfile.Int64, Ints: k},
	}
	if l.Bias != nil {
		ts = append(ts, tensorfile.Tensor{Name: "bias", Shape: []int{l.Out}, Dtype: tensorfile.Float32, Floats: l.Bias})
	}
	return ts
}

// truncateToBFloat16 rounds the weight to bfloat16 values (by truncation: any
// bfloat16 values will do).
func truncateToBFloat16(w []float32) {
	for i, v := range w {
		w[i] = math.Float32frombits(math.Float32bits(v) &^ 0xffff)
	}
}

func TestLoadLayer(t *testing.T) {
	r := newRand(17)
	x := randBatches(r, 10, 5)[0]
	for _, tc := range []struct {
		name  string
		bias  bool
		dtype tensorfile.Dtype
		keep  []int
	}{
		{"float32 with bias", true, tensorfile.Float32, []int{1, 2, 5, 9}},
		{"bfloat16 without bias", false, tensorfile.BFloat16, []int{0, 3, 4, 6, 7, 8}},
		{"nothing kept", true, tensorfile.Float32, []int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := randLayer(r, 10, 7, tc.bias)
			if tc.dtype == tensorfile.BFloat16 {
				truncateToBFloat16(l.Weight)
			}
			path := layerFile(t, compactTensors(l, tc.keep, tc.dtype), map[string]string{LayerInFeatures: "10"})
			got, err := LoadLayer(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Compact(l, tc.keep)
			if err != nil {
				t.Fatal(err)
			}
			if got.In() != 10 || got.Out() != 7 || !slices.Equal(got.Kept(), tc.keep) ||
				!slices.Equal(got.Weight(), want.Weight()) || !slices.Equal(got.Bias(), want.Bias()) {
				t.Fatalf("loaded In %d Out %d kept %v, bias %v; want 10 7 %v, %v", got.In(), got.Out(), got.Kept(), got.Bias(), tc.keep, want.Bias())
			}
			yGot, yWant := make([]float32, 5*7), make([]float32, 5*7)
			if err := got.Forward(yGot, x); err != nil {
				t.Fatal(err)
			}
			if err := want.Forward(yWant, x); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(yGot, yWant) {
				t.Errorf("Forward of the loaded layer %v, want %v", yGot, yWant)
			}
		})
	}
}

func TestLoadLayerRefuses(t *testing.T) {
	r := newRand(18)
	l := randLayer(r, 6, 3, true)
	keep := []int{0, 2, 5}
	meta := map[string]string{LayerInFeatures: "6"}
	good := compactTensors(l, keep, tensorfile.Float32)
	// with returns good with tensor name replaced by t (or dropped).
	with := func(name string, t *tensorfile.Tensor) []tensorfile.Tensor {
		var ts []tensorfile.Tensor
		for _, g := range good {
			if g.Name != name {
				ts = append(ts, g)
			}
		}
		if t != nil {
			ts = append(ts, *t)
		}
		return ts
	}
	keepOf := func(k ...int64) *tensorfile.Tensor {
		return &tensorfile.Tensor{Name: "keep", Shape: []int{len(k)}, Dtype: tensorfile.Int64, Ints: k}
	}
	for _, tc := range []struct {
		name    string
		tensors []tensorfile.Tensor
		meta    map[string]string
		want    error
		mention string
	}{
		{"no in_features", good, nil, ErrLayerFile, "in_features"},
		{"bad in_features", good, map[string]string{LayerInFeatures: "six"}, ErrLayerFile, `"six"`},
		{"zero in_features", good, map[string]string{LayerInFeatures: "0"}, ErrLayerFile, "positive"},
		{"in_features past 32 bits", good, map[string]string{LayerInFeatures: "3000000000"}, ErrLayerFile, "in_features"},
		{"no column and no bias for many outputs", []tensorfile.Tensor{
			{Name: "weight", Shape: []int{maxUnbackedOut + 1, 0}, Dtype: tensorfile.Float32},
			*keepOf(),
		}, meta, ErrLayerFile, "no bias"},
		{"no weight", with("weight", nil), meta, tensorfile.ErrKey, "weight"},
		{"no keep", with("keep", nil), meta, tensorfile.ErrKey, "keep"},
		{"weight 1-D", with("weight", &tensorfile.Tensor{Name: "weight", Shape: []int{9}, Dtype: tensorfile.Float32, Floats: make([]float32, 9)}), meta, ErrLayerFile, "[9]"},
		{"weight int64", with("weight", &tensorfile.Tensor{Name: "weight", Shape: []int{3, 3}, Dtype: tensorfile.Int64, Ints: make([]int64, 9)}), meta, tensorfile.ErrDtype, "weight"},
		{"keep float", with("keep", &tensorfile.Tensor{Name: "keep", Shape: []int{3}, Dtype: tensorfile.Float32, Floats: []float32{0, 2, 5}}), meta, tensorfile.ErrDtype, "keep"},
		{"keep too short", with("keep", keepOf(0, 2)), meta, ErrLayerFile, "want [3]"},
		{"keep descending", with("keep", keepOf(0, 5, 2)), meta, ErrLayerFile, "keep[2] = 2"},
		{"keep repeated", with("keep", keepOf(0, 2, 2)), meta, ErrLayerFile, "keep[2] = 2"},
		{"keep negative", with("keep", keepOf(-1, 2, 5)), meta, ErrLayerFile, "keep[0] = -1"},
		{"keep past in_features", with("keep", keepOf(0, 2, 6)), meta, ErrLayerFile, "keep[2] = 6"},
		{"bias of the wrong shape", with("bias", &tensorfile.Tensor{Name: "bias", Shape: []int{2}, Dtype: tensorfile.Float32, Floats: []float32{1, 2}}), meta, ErrLayerFile, "bias"},
		// A bias under another name would be left out of the Layer.
		{"a tensor besides weight, bias and keep", slices.Concat(with("bias", nil), []tensorfile.Tensor{{Name: "linear.bias", Shape: []int{3}, Dtype: tensorfile.Float32, Floats: []float32{1, 2, 3}}}), meta, ErrLayerFile, `"linear.bias"`},
		{"NaN weight", with("weight", &tensorfile.Tensor{Name: "weight", Shape: []int{3, 3}, Dtype: tensorfile.Float32, Floats: []float32{0, float32(math.NaN()), 0, 0, 0, 0, 0, 0, 0}}), meta, ErrNonFinite, "weight [0, 2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := layerFile(t, tc.tensors, tc.meta)
			_, err := LoadLayer(path)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrLayerFile) || !strings.Contains(err.Error(), tc.mention) ||
				!strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line naming %s and %q, wrapping %v", err, path, tc.mention, tc.want)
			}
		})
	}
	// A hostile in_features comes back clipped, as tensorfile quotes names.
	huge := strings.Repeat("9", 1<<20)
	if _, err := LoadLayer(layerFile(t, good, map[string]string{LayerInFeatures: huge})); !errors.Is(err, ErrLayerFile) || len(err.Error()) > 1000 {
		t.Errorf("in_features of %d digits: an error of %d bytes, want at most 1000 (%v)", len(huge), len(err.Error()), errors.Is(err, ErrLayerFile))
	}
	if _, err := LoadLayer(filepath.Join(t.TempDir(), "none.safetensors")); !errors.Is(err, ErrLayerFile) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestLoadLayerMemoryFollowsTheFile loads a layer that keeps 256 of 2²⁰
// channels: its memory is a few times the file's weight (256 KiB), not
// the full-width weight (1 GiB).
func TestLoadLayerMemoryFollowsTheFile(t *testing.T) {
	const in, out, kept = 1 << 20, 256, 256
	r := newRand(20)
	keep := make([]int64, kept)
	for i := range keep {
		keep[i] = int64(i*(in/kept) + r.IntN(in/kept))
	}
	weight := uniform(r, out*kept, 1)
	path := layerFile(t, []tensorfile.Tensor{
		{Name: "weight", Shape: []int{out, kept}, Dtype: tensorfile.Float32, Floats: weight},
		{Name: "keep", Shape: []int{kept}, Dtype: tensorfile.Int64, Ints: keep},
	}, map[string]string{LayerInFeatures: strconv.Itoa(in)})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	layer, err := LoadLayer(path)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got, bound := after.TotalAlloc-before.TotalAlloc, uint64(4*len(weight)*4); got > bound {
		t.Errorf("LoadLayer allocated %d bytes, want at most %d (4 times the file's weight)", got, bound)
	}
	if !slices.Equal(layer.Weight(), weight) {
		t.Fatal("the loaded weight is not the file's")
	}
	x, xk := uniform(r, in, 1), make([]float32, kept)
	for i, c := range keep {
		xk[i] = x[c]
	}
	y, yk := make([]float32, out), make([]float32, out)
	if err := layer.Forward(y, x); err != nil {
		t.Fatal(err)
	}
	if err := layer.ForwardCompact(yk, xk); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y, yk) {
		t.Errorf("Forward of the full row %v, ForwardCompact of its kept channels %v", y[:4], yk[:4])
	}
}

// FuzzLoadLayer loads fuzzed files: a layer or an error that wraps
// ErrLayerFile, never a panic.
func FuzzLoadLayer(f *testing.F) {
	l := randLayer(newRand(19), 5, 3, true)
	truncateToBFloat16(l.Weight)
	for _, keep := range [][]int{{0, 2, 4}, {}} {
		for _, d := range []tensorfile.Dtype{tensorfile.BFloat16, tensorfile.Float32} {
			var b bytes.Buffer
			if err := tensorfile.WriteSafetensors(&b, compactTensors(l, keep, d), map[string]string{LayerInFeatures: "5"}); err != nil {
				f.Fatal(err)
			}
			f.Add(b.Bytes())
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "fuzz.safetensors")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		layer, err := LoadLayer(path)
		switch {
		case err != nil && !errors.Is(err, ErrLayerFile):
			t.Fatalf("error without ErrLayerFile: %v", err)
		case err == nil && len(layer.Kept()) > layer.In():
			t.Fatalf("kept %v of %d", layer.Kept(), layer.In())
		}
	})
}
