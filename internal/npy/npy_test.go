package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// npyFile builds a .npy file by hand: magic, version major.0, the header
// length (2 bytes for version 1, else 4), dict plus a newline, then data.
func npyFile(major byte, dict string, data []byte) []byte {
	hdr := dict + "\n"
	b := append([]byte(magic), major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(hdr)))
	}
	return append(append(b, hdr...), data...)
}

func dictFor(descr, shape string) string {
	return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
}

// encode writes vals in the float dtype descr ("<f4", ">f8", ...); for
// float16 each value must be one of those in halfBits.
func encode(t *testing.T, descr string, vals []float32) []byte {
	t.Helper()
	var order binary.ByteOrder = binary.LittleEndian
	if descr[0] == '>' {
		order = binary.BigEndian
	}
	var b []byte
	for _, v := range vals {
		switch descr[1:] {
		case "f2":
			h, ok := halfBits[v]
			if !ok {
				t.Fatalf("no float16 bits for %v", v)
			}
			b = order.AppendUint16(b, h)
		case "f4":
			b = order.AppendUint32(b, math.Float32bits(v))
		case "f8":
			b = order.AppendUint64(b, math.Float64bits(float64(v)))
		default:
			t.Fatalf("bad dtype %q", descr)
		}
	}
	return b
}

var halfBits = map[float32]uint16{0: 0x0000, 1: 0x3c00, -2: 0xc000, 0.5: 0x3800, 65504: 0x7bff, 3: 0x4200}

func readBytes(b []byte) (*Array, error) {
	return Read(bytes.NewReader(b), int64(len(b)))
}

func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

func TestReadDtypesAndVersions(t *testing.T) {
	want := []float32{1, -2, 0.5, 65504, 3, 0}
	for _, descr := range []string{"<f4", ">f4", "<f8", ">f8", "<f2", ">f2"} {
		for _, major := range []byte{1, 2, 3} {
			b := npyFile(major, dictFor(descr, "(2, 3)"), encode(t, descr, want))
			a, err := readBytes(b)
			if err != nil {
				t.Errorf("%s v%d: %v", descr, major, err)
				continue
			}
			if !slices.Equal(a.Shape, []int{2, 3}) || !slices.Equal(a.Data, want) {
				t.Errorf("%s v%d: got %v %v, want [2 3] %v", descr, major, a.Shape, a.Data, want)
			}
		}
	}
}

func TestReadFloat64Rounds(t *testing.T) {
	x := 0.1
	b := npyFile(1, dictFor("<f8", "(1,)"), binary.LittleEndian.AppendUint64(nil, math.Float64bits(x)))
	a, err := readBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if a.Data[0] != float32(x) {
		t.Errorf("got %v, want %v", a.Data[0], float32(x))
	}
}

func TestReadDictSyntax(t *testing.T) {
	data := encode(t, "<f4", []float32{1, 2, 3, 4, 5, 0})
	for _, dict := range []string{
		`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`,
		`{"descr": "<f4", "fortran_order": False, "shape": (2, 3)}`,
		`{'shape': (2,3,), 'descr': '<f4', 'fortran_order': False}`,
		`{ 'fortran_order' :False ,	'shape':( 2 , 3 ) ,'descr':'<f4' , }`,
		`{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }`,
		`{'descr': '<f4', 'fortran_order': False, 'shape': (+2, 3), }` + strings.Repeat(" ", 40),
	} {
		a, err := readBytes(npyFile(1, dict, data))
		if err != nil {
			t.Errorf("%s: %v", dict, err)
			continue
		}
		if !slices.Equal(a.Shape, []int{2, 3}) || len(a.Data) != 6 {
			t.Errorf("%s: got shape %v, %d values", dict, a.Shape, len(a.Data))
		}
	}
}

func TestReadFortranOrder(t *testing.T) {
	for _, shape := range [][]int{{2, 3}, {2, 3, 4}, {5}, {3, 1, 2}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		// Value of element idx is its C-order offset; list them with the
		// first index varying fastest, as a Fortran-order file does.
		var vals []float32
		idx := make([]int, len(shape))
		for range n {
			off := 0
			for k, i := range idx {
				off = off*shape[k] + i
			}
			vals = append(vals, float32(off))
			for k := range idx {
				if idx[k]++; idx[k] < shape[k] {
					break
				}
				idx[k] = 0
			}
		}
		tuple := strings.Trim(strings.ReplaceAll(strings.Trim(strings.Join(strings.Fields(
			strings.Trim(strings.ReplaceAll(strings.Trim(sprintInts(shape), "[]"), " ", ", "), " ")), " "), " "), " ", " "), " ")
		if len(shape) == 1 {
			tuple += ","
		}
		dict := "{'descr': '<f4', 'fortran_order': True, 'shape': (" + tuple + "), }"
		a, err := readBytes(npyFile(1, dict, encode(t, "<f4", vals)))
		if err != nil {
			t.Fatalf("%v: %v", shape, err)
		}
		for i, v := range a.Data {
			if v != float32(i) {
				t.Fatalf("%v: got %v, want 0, 1, 2, ...", shape, a.Data)
			}
		}
	}
	// The 2x3 case spelled out: columns stored one after another.
	b := npyFile(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
		encode(t, "<f4", []float32{0, 3, 1, 4, 2, 5}))
	a, err := readBytes(b)
	if err != nil || !slices.Equal(a.Data, []float32{0, 1, 2, 3, 4, 5}) {
		t.Errorf("2x3 Fortran: got %v, %v", a, err)
	}
}

func sprintInts(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = string(rune('0' + d))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
