package tensorfile

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/internal/npy"
)

func TestBatches(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		stacked bool
		names   []string // after the fixture directory
		want    []*Array
	}{
		{"npz in natural order", []string{"acts.npz"}, false,
			[]string{"acts.npz#batch_1", "acts.npz#batch_2", "acts.npz#batch_10"}, []*Array{wantX0, wantX1, wantX2}},
		{"deflated npz", []string{"acts_compressed.npz"}, false,
			[]string{"acts_compressed.npz#batch_1", "acts_compressed.npz#batch_2", "acts_compressed.npz#batch_10"},
			[]*Array{wantX0, wantX1, wantX2}},
		{"pt list", []string{"acts.pt"}, false, []string{"acts.pt#0", "acts.pt#1", "acts.pt#2"}, []*Array{wantX0, wantX1, wantX2}},
		{"pt dict in insertion order", []string{"acts_dict.pt"}, false, []string{"acts_dict.pt#b", "acts_dict.pt#a"},
			[]*Array{wantX1, wantX0}},
		{"keys and files", []string{"acts.npz#batch_2", "stacked.npy", "acts.pt#0"}, false,
			[]string{"acts.npz#batch_2", "stacked.npy", "acts.pt#0"}, []*Array{wantX1, wantStack, wantX0}},
		{"stacked", []string{"stacked.npy", "layer.safetensors#acts", "stacked.pt", "acts_compressed.npz#batch_10"}, true,
			[]string{"stacked.npy[0]", "stacked.npy[1]", "layer.safetensors#acts[0]", "layer.safetensors#acts[1]",
				"stacked.pt[0]", "stacked.pt[1]", "acts_compressed.npz#batch_10[0]", "acts_compressed.npz#batch_10[1]",
				"acts_compressed.npz#batch_10[2]", "acts_compressed.npz#batch_10[3]"},
			[]*Array{wantX1, wantX2, wantX1, wantX2, wantX1, wantX2,
				row(wantX2, 0), row(wantX2, 1), row(wantX2, 2), row(wantX2, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			for _, a := range tc.args {
				args = append(args, fixture(a))
			}
			b, err := OpenBatches(args, tc.stacked)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.Len() != len(tc.want) {
				t.Fatalf("%d batches, want %d", b.Len(), len(tc.want))
			}
			buf := make([]float32, 0, 64)
			for i, want := range tc.want {
				if name := b.Name(i); name != fixture(tc.names[i]) {
					t.Errorf("batch %d is named %q, want %q", i, name, fixture(tc.names[i]))
				}
				a, err := b.Read(i, buf)
				if err != nil {
					t.Fatalf("batch %d: %v", i, err)
				}
				if !sameArray(a, want) {
					t.Errorf("batch %d: got %v %v, want %v %v", i, a.Shape, a.Data, want.Shape, want.Data)
				}
				if len(a.Data) > 0 && &a.Data[0] != &buf[:1][0] {
					t.Errorf("batch %d was not read into the buffer", i)
				}
			}
		})
	}
}

func row(a *Array, i int) *Array {
	n := a.Shape[1]
	return &Array{Shape: a.Shape[1:], Data: a.Data[i*n : (i+1)*n]}
}

func TestBatchErrors(t *testing.T) {
	for _, tc := range []struct {
		arg      string
		stacked  bool
		sentinel error
		mention  string
	}{
		{"acts.npz#nope", false, ErrKey, "batch_10"},
		{"acts.npz", true, ErrKey, "FILE#KEY"},
		{"layer.npz#weight_f", true, ErrBatches, "not contiguous"},
		{"layer.npz#scores", false, nil, ""},
		{"rank_0.pth", false, ErrKey, "decoder.layers.0.mlp.linear_fc2/score"},
		{"missing.npz", false, nil, "missing.npz"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			_, err := OpenBatches([]string{fixture(tc.arg)}, tc.stacked)
			if tc.mention == "" {
				if err != nil {
					t.Errorf("got %v", err)
				}
				return
			}
			if err == nil || tc.sentinel != nil && !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.mention) ||
				!strings.HasPrefix(err.Error(), fixture(tc.arg)+": ") {
				t.Errorf("got %v, want %v naming the argument and %q", err, tc.sentinel, tc.mention)
			}
		})
	}
}

// Stacked arrays without rows to read are refused with ErrBatches, naming
// the argument and why.
func TestStackedNoRows(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		shape   []int
		data    []float32
		mention string
	}{
		{"scalar.npy", nil, []float32{1}, "scalar"},
		{"empty.npy", []int{0, 4}, nil, "length 0"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := npy.WriteFile(path, tc.shape, tc.data); err != nil {
			t.Fatal(err)
		}
		_, err := OpenBatches([]string{path}, true)
		if !errors.Is(err, ErrBatches) || !strings.Contains(err.Error(), tc.mention) || !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("%s: got %v, want ErrBatches naming the file and %q", tc.name, err, tc.mention)
		}
	}
}

// TestBatchesRefuseInt64 refuses an int64 tensor when the batches are
// planned, not when they are read.
func TestBatchesRefuseInt64(t *testing.T) {
	for _, stacked := range []bool{false, true} {
		if _, err := OpenBatches([]string{"../testdata/tensors/layer.safetensors#ids"}, stacked); !errors.Is(err, ErrDtype) {
			t.Errorf("stacked %v: %v, want ErrDtype", stacked, err)
		}
	}
}
