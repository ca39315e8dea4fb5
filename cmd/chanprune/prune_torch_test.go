package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/tensorfile"
)

// debianPython is the interpreter scripts/README.md sets up with torch.
const debianPython = "/usr/bin/python3"

// torchFile is what scripts/load_safetensors.py prints of one file.
type torchFile struct {
	Metadata map[string]string
	Tensors  map[string]struct {
		Dtype  string
		Shape  []int
		Values []float64
	}
	Y []float64 // the layer served on x
}

// torchLoad runs scripts/load_safetensors.py on paths, serving each
// layer on x, and skips the test where torch is missing.
func torchLoad(t *testing.T, x [][]float32, paths ...string) []torchFile {
	t.Helper()
	b, _ := json.Marshal(x)
	xPath := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(xPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(debianPython, append([]string{"../../scripts/load_safetensors.py", "--x", xPath}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	switch {
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || strings.Contains(stderr.String(), "No module named 'torch'"):
		t.Skipf("no torch in %s (%v): see scripts/README.md", debianPython, err)
	case err != nil:
		t.Fatalf("%v: %v: %s", paths, err, stderr.String())
	}
	var out []torchFile
	if err := json.Unmarshal(b, &out); err != nil || len(out) != len(paths) {
		t.Fatalf("%v: %s", err, b)
	}
	return out
}

// TestPruneOutLoadsInTorch loads prune --out files with torch: a bfloat16
// layer, whose PyTorch output matches LoadLayer's Forward, and an MLP
// block; every tensor has the dtype, shape and values Go reads.
func TestPruneOutLoadsInTorch(t *testing.T) {
	dir := t.TempDir()
	w := fill(5*6, func(i int) float32 { return float32(i%11)*0.1875 - 1 })
	in := writeSafetensors(t, dir, "layer.safetensors", []tensorfile.Tensor{
		{Name: "w", Shape: []int{5, 6}, Dtype: tensorfile.BFloat16, Floats: w},
		{Name: "b", Shape: []int{5}, Dtype: tensorfile.Float32, Floats: []float32{0.1, 0.2, 0.3, 0.4, 0.5}},
		{Name: "up", Shape: []int{6, 3}, Dtype: tensorfile.Float16, Floats: fill(18, func(i int) float32 { return float32(i) / 8 })},
	})
	s := writeNpy(t, dir, "s.npy", []int{6}, []float32{3, 1, 4, 1, 5, 9})
	layer, block := filepath.Join(dir, "pruned.safetensors"), filepath.Join(dir, "block.safetensors")
	for _, args := range [][]string{{"--out", layer}, {"--out", block, "--couple", in + "#up"}} {
		all := append([]string{"prune", "--weight", in + "#w", "--bias", in + "#b", "--scores", s, "--ratio", "0.5"}, args...)
		if code, _, stderr := runCLI(t, all...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	x := [][]float32{{1, -2, 0.5, 3, -1, 2}, {0, 1, 1, -1, 2, 0.25}}
	loads := torchLoad(t, x, layer, block)
	for i, path := range []string{layer, block} {
		got := loads[i]
		if got.Metadata[chanprune.LayerInFeatures] != "6" {
			t.Errorf("%s: metadata %v", path, got.Metadata)
		}
		f, err := tensorfile.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if keys := f.Keys(); len(keys) != len(got.Tensors) {
			t.Errorf("%s: torch reads %d tensors, Go %v", path, len(got.Tensors), keys)
		}
		for name, tt := range got.Tensors {
			var shape []int
			var values []float64
			dtype := "int64"
			if name == "keep" {
				sh, k, err := f.ReadInt64(name)
				if err != nil {
					t.Fatal(err)
				}
				shape = sh
				for _, v := range k {
					values = append(values, float64(v))
				}
			} else {
				a, err := f.Read(name)
				if err != nil {
					t.Fatal(err)
				}
				shape, dtype = a.Shape, a.Dtype.String()
				for _, v := range a.Data {
					values = append(values, float64(v))
				}
			}
			if tt.Dtype != dtype || !slices.Equal(tt.Shape, shape) || !slices.Equal(tt.Values, values) {
				t.Errorf("%s#%s: torch reads %s %v %v, Go %s %v %v", path, name, tt.Dtype, tt.Shape, tt.Values, dtype, shape, values)
			}
		}
		if path == block {
			if got.Y != nil {
				t.Errorf("%s: served as a layer", path)
			}
			continue
		}
		loaded, err := chanprune.LoadLayer(path)
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float32, 2*5)
		if err := loaded.Forward(y, slices.Concat(x...)); err != nil {
			t.Fatal(err)
		}
		if len(got.Y) != len(y) {
			t.Fatalf("torch y %v", got.Y)
		}
		for i, v := range y {
			if !within(float64(v)-got.Y[i], 1e-5*(1+math.Abs(got.Y[i]))) {
				t.Errorf("y[%d]: LoadLayer %v, torch %v", i, v, got.Y[i])
			}
		}
	}
}
