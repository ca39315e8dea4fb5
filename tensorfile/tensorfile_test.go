package tensorfile

import (
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The fixtures' values (scripts/make_tensor_fixtures.py).
var (
	wantW  = fill([]int{5, 6}, func(i int) float32 { return float32(i%7) - 3 })
	wantB  = fill([]int{5}, func(i int) float32 { return float32(i) / 4 })
	wantS  = &Array{Shape: []int{6}, Data: []float32{3, 1, 4, 1, 5, 9}}
	wantX0 = fill([]int{2, 3, 6}, func(i int) float32 { return float32(i%5) - 2 })
	wantX1 = fill([]int{4, 6}, func(i int) float32 { return float32(i%3) - 1 })
	wantX2 = fill([]int{4, 6}, func(i int) float32 { return float32(i%4) - 1.5 })
	// wantStack is x1 and x2 stacked, [2, 4, 6].
	wantStack = &Array{Shape: []int{2, 4, 6}, Data: append(slices.Clone(wantX1.Data), wantX2.Data...)}
)

func fill(shape []int, f func(i int) float32) *Array {
	a := &Array{Shape: shape}
	a.Data = make([]float32, a.Len())
	for i := range a.Data {
		a.Data[i] = f(i)
	}
	return a
}

func fixture(name string) string { return filepath.Join("..", "testdata", "tensors", name) }

func sameArray(a, b *Array) bool {
	return slices.Equal(a.Shape, b.Shape) && slices.Equal(a.Data, b.Data)
}

func TestReadFixtures(t *testing.T) {
	for _, tc := range []struct {
		ref  string
		want *Array
	}{
		{"layer.npz#weight", wantW},
		{"layer.npz#weight_f", wantW}, // Fortran order
		{"layer.npz#bias", wantB},
		{"layer.npz#scores", wantS},
		{"acts.npz#batch_10", wantX2},
		{"acts_compressed.npz#batch_1", wantX0}, // deflated
		{"acts_compressed.npz#batch_10", wantX2},
		{"layer.safetensors#weight", wantW},
		{"layer.safetensors#bias", wantB},   // bf16
		{"layer.safetensors#scores", wantS}, // f16
		{"layer.safetensors#acts", wantStack},
		{"rank_0.pth#decoder.layers.0.mlp.linear_fc2/score", wantS},
		{"rank_0.pth#decoder.layers.1.mlp.linear_fc2/score", wantS}, // bf16
		{"layer.pt#weight", wantW},                                  // a transposed view
		{"layer.pt#bias", wantB},                                    // f64
		{"layer.pt#scores", wantS},                                  // f16
		{"acts.pt#0", wantX0},
		{"acts.pt#1", wantX1}, // f16 at an offset in its storage
		{"acts.pt#2", wantX2}, // bf16
		{"acts_dict.pt#b", wantX1},
		{"stacked.pt", wantStack},  // a lone tensor needs no key
		{"stacked.npy", wantStack}, // big-endian
	} {
		t.Run(tc.ref, func(t *testing.T) {
			r := ParseRef(fixture(tc.ref))
			a, err := Read(r)
			if err != nil {
				t.Fatal(err)
			}
			if !sameArray(a, tc.want) {
				t.Errorf("got %v %v, want %v %v", a.Shape, a.Data, tc.want.Shape, tc.want.Data)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"acts.npz", []string{"batch_1", "batch_2", "batch_10"}},
		{"layer.safetensors", []string{"acts", "bias", "ids", "scores", "weight"}},
		{"rank_0.pth", []string{"decoder.layers.0.mlp.linear_fc2/score", "decoder.layers.1.mlp.linear_fc2/score"}},
		{"acts.pt", []string{"0", "1", "2"}},
		{"acts_dict.pt", []string{"b", "a"}},
		{"stacked.npy", nil},
	} {
		got, err := Keys(fixture(tc.file))
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Keys(%s) = %q, %v; want %q", tc.file, got, err, tc.want)
		}
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct {
		ref      string
		sentinel error
		mention  []string
	}{
		{"acts.npz#batch_3", ErrKey, []string{`"batch_3"`, "3 tensors: batch_1, batch_2, batch_10"}},
		{"acts.npz", ErrKey, []string{"FILE#KEY", "batch_1"}},
		{"layer.safetensors#ids", ErrDtype, []string{"I64"}},
		{"layer.safetensors#Weight", ErrKey, []string{"weight"}},
		{"rank_0.pth#decoder.layers.0.mlp.linear_fc2", ErrKey, []string{"is a dict", "decoder.layers.0.mlp.linear_fc2/score"}},
		{"rank_0.pth#decoder/layers", ErrKey, []string{"decoder.layers.1.mlp.linear_fc2/score"}},
		{"acts.pt#3", ErrKey, []string{"3 tensors: 0, 1, 2"}},
		{"stacked.npy#x", ErrKey, []string{"takes no #KEY"}},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			_, err := Read(ParseRef(fixture(tc.ref)))
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("got %v, want %v", err, tc.sentinel)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("%q lacks %q", err, m)
				}
			}
		})
	}
}

func TestListKeysTruncates(t *testing.T) {
	var keys []string
	for i := range 100 {
		keys = append(keys, strconv.Itoa(i))
	}
	got := listKeys(keys)
	if !strings.HasPrefix(got, "100 tensors: 0, 1, 2") || !strings.HasSuffix(got, ", 11, … (88 more)") {
		t.Errorf("listKeys = %q", got)
	}
}

func TestParseRef(t *testing.T) {
	dir := t.TempDir()
	hashed := filepath.Join(dir, "a#b.npy")
	writeFile(t, hashed, nil)
	for _, tc := range []struct {
		in   string
		want Ref
	}{
		{"x.npy", Ref{Path: "x.npy"}},
		{"m.pt#a/b#c", Ref{Path: "m.pt#a/b", Key: "c"}},
		{"m.pt#", Ref{Path: "m.pt"}},
		{hashed, Ref{Path: hashed}},
		{hashed + "#k", Ref{Path: hashed, Key: "k"}},
	} {
		if got := ParseRef(tc.in); got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestNaturalCompare(t *testing.T) {
	got := []string{"batch_10", "batch_2", "b", "batch_1", "batch_02", "a10b2", "a10b10", "a9", ""}
	slices.SortFunc(got, naturalCompare)
	want := []string{"", "a9", "a10b2", "a10b10", "b", "batch_1", "batch_02", "batch_2", "batch_10"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
