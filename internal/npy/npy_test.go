package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFloat16(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},
		{0x0400, 0x1p-14},        // smallest normal
		{0x03ff, 1023 * 0x1p-24}, // largest subnormal
		{0x0001, 0x1p-24},        // smallest subnormal
		{0x8001, -0x1p-24},
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := Float16to32(tt.h); got != tt.want {
			t.Errorf("Float16to32(%#04x) = %v, want %v", tt.h, got, tt.want)
		}
	}
	if got := Float16to32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("Float16to32(0x8000) = %v, want -0", got)
	}
	for _, h := range []uint16{0x7e00, 0x7c01, 0xfe00, 0x7fff} {
		if got := Float16to32(h); !math.IsNaN(float64(got)) {
			t.Errorf("Float16to32(%#04x) = %v, want NaN", h, got)
		}
	}
	// Payload and sign of a NaN are kept.
	if got := math.Float32bits(Float16to32(0xfe01)); got != 0xffc02000 {
		t.Errorf("Float16to32(0xfe01) bits = %#x, want 0xffc02000", got)
	}
}

// array is a shape and its data, one case of the writer tests.
type array struct {
	Shape []int
	Data  []float32
}

func TestWriteHeaderBytes(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []int{2, 3}, make([]float32, 6)); err != nil {
		t.Fatal(err)
	}
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
	want := "\x93NUMPY\x01\x00\x76\x00" + dict + strings.Repeat(" ", 128-10-len(dict)-1) + "\n"
	if got := buf.String()[:128]; got != want {
		t.Errorf("header\n got %q\nwant %q", got, want)
	}
}

func TestWriteErrors(t *testing.T) {
	for _, a := range []array{
		{Shape: []int{2, 3}, Data: make([]float32, 5)},
		{Shape: []int{}, Data: nil},
		{Shape: []int{-1}, Data: nil},
		{Shape: []int{math.MaxInt / 2, 4}, Data: nil},
		{Shape: make([]int, 65), Data: nil},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, a.Shape, a.Data); err == nil {
			t.Errorf("%+v: no error", a)
		} else if buf.Len() != 0 {
			t.Errorf("%+v: wrote %d bytes before failing", a, buf.Len())
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.npy")
	first := array{Shape: []int{2}, Data: []float32{1, 2}}
	second := array{Shape: []int{1, 3}, Data: []float32{3, 4, 5}}
	for _, a := range []array{first, second} {
		if err := WriteFile(path, a.Shape, a.Data); err != nil {
			t.Fatal(err)
		}
	}
	// A failed write must leave the previous file as it was.
	if err := WriteFile(path, []int{4}, []float32{1}); err == nil {
		t.Error("mismatched array: no error")
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := Write(&want, second.Shape, second.Data); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("file holds %q, want %q", got, want.Bytes())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "a.npy" {
		t.Errorf("directory holds %v, want only a.npy", entries)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "b.npy"), first.Shape, first.Data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: got %v, want fs.ErrNotExist", err)
	}
}

func TestWriteIndex(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteIndex(&buf, []int{0, 5, 1 << 30}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	hdr := string(b[:len(b)-24])
	if !strings.HasPrefix(hdr, "\x93NUMPY\x01\x00") || !strings.Contains(hdr, "'descr': '<i8'") ||
		!strings.Contains(hdr, "'shape': (3,)") || len(hdr)%64 != 0 {
		t.Errorf("header %q", hdr)
	}
	for i, want := range []uint64{0, 5, 1 << 30} {
		if got := binary.LittleEndian.Uint64(b[len(hdr)+8*i:]); got != want {
			t.Errorf("index %d = %d, want %d", i, got, want)
		}
	}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		n     int
		ok    bool
	}{
		{nil, 1, true},
		{[]int{2, 3}, 6, true},
		{[]int{0, MaxElems}, 0, true},
		{[]int{MaxElems}, MaxElems, true},
		{[]int{MaxElems/2 + 1, 2}, 0, false},
		{[]int{math.MaxInt / 2, 4}, 0, false},
		{[]int{2, -1}, 0, false},
		{[]int{0, -1}, 0, false},
	} {
		if n, ok := Count(tc.shape); n != tc.n || ok != tc.ok {
			t.Errorf("Count(%v) = %d, %v; want %d, %v", tc.shape, n, ok, tc.n, tc.ok)
		}
	}
}
