package tensorfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chanprune/chanprune/internal/npy"
)

// writeTemp writes tensors with WriteSafetensors to a file and returns its
// path.
func writeTemp(t *testing.T, tensors []Tensor, meta map[string]string) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteSafetensors(&b, tensors, meta); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "t.safetensors")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWriteSafetensorsRoundTrip(t *testing.T) {
	halves := []float32{1, -2.5, 0.099975586, 65504, 0x1p-24, float32(math.Inf(-1)), 0}
	tensors := []Tensor{
		{Name: "weight", Shape: []int{2, 3}, Dtype: BFloat16, Floats: []float32{1, -0.5, 0x1p127, 0x1p-133, 0, -7}},
		{Name: "bias", Shape: []int{7}, Dtype: Float16, Floats: halves},
		{Name: "f32", Shape: []int{2}, Dtype: Float32, Floats: []float32{math.Pi, -1e-40}},
		{Name: "keep", Shape: []int{3}, Dtype: Int64, Ints: []int64{0, 5, 1 << 40}},
		{Name: "scalar", Dtype: Float32, Floats: []float32{2}},
		{Name: "empty", Shape: []int{0, 4}, Dtype: Float16},
	}
	path := writeTemp(t, tensors, map[string]string{"in_features": "6"})
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.Keys(), []string{"bias", "empty", "f32", "keep", "scalar", "weight"}; !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	if m := f.Metadata(); len(m) != 1 || m["in_features"] != "6" {
		t.Errorf("metadata %v", m)
	}
	for _, want := range tensors {
		if want.Dtype == Int64 {
			shape, got, err := f.ReadInt64(want.Name)
			if err != nil || !slices.Equal(shape, want.Shape) || !slices.Equal(got, want.Ints) {
				t.Errorf("%s: %v %v %v, want %v %v", want.Name, shape, got, err, want.Shape, want.Ints)
			}
			continue
		}
		a, err := f.Read(want.Name)
		if err != nil {
			t.Fatalf("%s: %v", want.Name, err)
		}
		shape := want.Shape
		if shape == nil {
			shape = []int{}
		}
		if !slices.Equal(a.Shape, shape) || a.Dtype != want.Dtype || len(a.Data) != len(want.Floats) {
			t.Fatalf("%s: shape %v dtype %v, want %v %v", want.Name, a.Shape, a.Dtype, shape, want.Dtype)
		}
		for i, v := range want.Floats {
			if math.Float32bits(a.Data[i]) != math.Float32bits(v) {
				t.Errorf("%s[%d] = %v, want %v", want.Name, i, a.Data[i], v)
			}
		}
	}
	// The int64 tensor is refused as floats, and a float one as int64.
	if _, err := f.Read("keep"); !errors.Is(err, ErrDtype) {
		t.Errorf("Read(keep): %v, want ErrDtype", err)
	}
	if _, _, err := f.ReadInt64("bias"); !errors.Is(err, ErrDtype) || !strings.Contains(err.Error(), "F16") {
		t.Errorf("ReadInt64(bias): %v, want ErrDtype naming F16", err)
	}
}

// TestWriteSafetensorsLayout checks the layout the safetensors library
// itself checks on load: a padded header, and data offsets that tile the
// data from 0 to its end, each tensor 8-byte aligned.
func TestWriteSafetensorsLayout(t *testing.T) {
	var b bytes.Buffer
	err := WriteSafetensors(&b, []Tensor{
		{Name: "a", Shape: []int{3}, Dtype: Float16, Floats: []float32{1, 2, 3}},
		{Name: "b", Shape: []int{1}, Dtype: Float32, Floats: []float32{1}},
		{Name: "c", Shape: []int{1}, Dtype: Int64, Ints: []int64{1}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b.Bytes())
	if n%8 != 0 {
		t.Errorf("header of %d bytes, not a multiple of 8", n)
	}
	var header map[string]stEntry
	if err := json.Unmarshal(b.Bytes()[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	if _, ok := header["__metadata__"]; ok {
		t.Error("empty metadata written")
	}
	want := map[string][2]uint64{"c": {0, 8}, "b": {8, 12}, "a": {12, 18}}
	for name, off := range want {
		if e := header[name]; len(e.Offsets) != 2 || e.Offsets[0] != off[0] || e.Offsets[1] != off[1] {
			t.Errorf("%s at %v, want %v", name, e.Offsets, off)
		}
	}
	if got := uint64(b.Len()) - 8 - n; got != 18 {
		t.Errorf("%d data bytes, want 18", got)
	}
}

func TestWriteSafetensorsRefuses(t *testing.T) {
	ok := Tensor{Name: "a", Shape: []int{2}, Dtype: Float32, Floats: []float32{1, 2}}
	for _, tc := range []struct {
		name    string
		tensors []Tensor
		want    error
		mention string
	}{
		{"no name", []Tensor{{Shape: []int{0}, Dtype: Float32}}, ErrFormat, `""`},
		{"metadata name", []Tensor{{Name: "__metadata__", Shape: []int{0}, Dtype: Float32}}, ErrFormat, "__metadata__"},
		{"twice", []Tensor{ok, ok}, ErrFormat, "twice"},
		{"not UTF-8", []Tensor{{Name: "\xcc", Shape: []int{0}, Dtype: Float32}}, ErrFormat, `"\xcc"`},
		{"float64", []Tensor{{Name: "d", Shape: []int{0}, Dtype: Float64}}, ErrDtype, "float64"},
		{"short", []Tensor{{Name: "s", Shape: []int{3}, Dtype: Float32, Floats: []float32{1}}}, ErrFormat, "[3]"},
		{"negative", []Tensor{{Name: "n", Shape: []int{-1}, Dtype: Float32}}, ErrFormat, "negative"},
		{"ints as floats", []Tensor{{Name: "i", Shape: []int{1}, Dtype: Float32, Floats: []float32{1}, Ints: []int64{1}}}, ErrFormat, "Ints"},
		{"inexact bfloat16", []Tensor{{Name: "w", Shape: []int{2}, Dtype: BFloat16, Floats: []float32{1, 1 + 0x1p-8}}}, ErrDtype, "at 1"},
		{"inexact float16", []Tensor{{Name: "w", Shape: []int{1}, Dtype: Float16, Floats: []float32{1 + 0x1p-11}}}, ErrDtype, "float16"},
		{"float16 overflow", []Tensor{{Name: "w", Shape: []int{1}, Dtype: Float16, Floats: []float32{65536}}}, ErrDtype, "65536"},
		{"float16 underflow", []Tensor{{Name: "w", Shape: []int{1}, Dtype: Float16, Floats: []float32{0x1p-25}}}, ErrDtype, "w"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := WriteSafetensors(&b, tc.tensors, nil)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.mention) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line wrapping %v naming %q", err, tc.want, tc.mention)
			}
			if b.Len() != 0 {
				t.Errorf("%d bytes written before the error", b.Len())
			}
		})
	}
}

// TestNarrowEveryHalf checks narrow against every bfloat16 and float16:
// each widened value narrows back to its own bits, and a value between
// two neighbours is refused.
func TestNarrowEveryHalf(t *testing.T) {
	for h := range 1 << 16 {
		for _, d := range []Dtype{BFloat16, Float16} {
			v := math.Float32frombits(uint32(h) << 16)
			if d == Float16 {
				v = npy.Float16to32(uint16(h))
			}
			if v != v {
				continue // NaN: no exact value to keep
			}
			got, ok := narrow(d, v)
			if !ok || got != uint16(h) {
				t.Fatalf("%v %#04x (%v) narrows to %#04x, %v", d, h, v, got, ok)
			}
			if math.IsInf(float64(v), 0) || v == 0 {
				continue
			}
			between := math.Float32frombits(math.Float32bits(v) + 1) // no half lies this close
			if _, ok := narrow(d, between); ok {
				t.Fatalf("%v: %v (after %#04x) narrows exactly", d, between, h)
			}
		}
	}
	if !Fits(Float16, []float32{1, 0.5}) || Fits(BFloat16, []float32{1, 1.001}) || Fits(Int64, nil) || !Fits(Float64, []float32{1.001}) {
		t.Error("Fits disagrees with narrow")
	}
}

// FuzzWriteSafetensors writes fuzzed float32 values in each float dtype
// (as far as they fit) and reads them back bit for bit.
func FuzzWriteSafetensors(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 192}, "w")
	f.Add([]byte{1, 2, 3}, "")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		vals := make([]float32, len(b)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		for _, d := range []Dtype{Float32, BFloat16, Float16} {
			var buf bytes.Buffer
			err := WriteSafetensors(&buf, []Tensor{{Name: name, Shape: []int{len(vals)}, Dtype: d, Floats: vals}}, map[string]string{name: name})
			if err != nil {
				if Fits(d, vals) && name != "" && name != "__metadata__" && utf8.ValidString(name) {
					t.Fatalf("%v: %v", d, err)
				}
				checkErr(t, err)
				continue
			}
			r, err := openAt(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
			if err != nil {
				t.Fatal(err)
			}
			tn, err := r.tensor(name)
			if err != nil {
				t.Fatal(err)
			}
			a, err := tn.read(nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if math.Float32bits(a.Data[i]) != math.Float32bits(v) && !(v != v && a.Data[i] != a.Data[i]) {
					t.Fatalf("%v [%d]: %v, want %v", d, i, a.Data[i], v)
				}
			}
		}
	})
}
