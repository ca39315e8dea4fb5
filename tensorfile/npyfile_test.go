package tensorfile

// Tests of the .npy reader: header syntax and its hostile forms, dtypes,
// versions, Fortran order, and what npy.Write writes read back bit for bit.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/internal/npy"
)

// npyOfVersion builds a .npy file by hand: magic, version major.0, the header
// length (2 bytes for version 1, else 4), dict plus a newline, then data.
func npyOfVersion(major byte, dict string, data []byte) []byte {
	hdr := dict + "\n"
	b := append([]byte(npy.Magic), major, 0)
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

// readNpy reads the .npy file in b with the reader openAt picks for it.
func readNpy(b []byte) (*Array, error) { return readNpyInto(b, nil) }

func readNpyInto(b []byte, buf []float32) (*Array, error) {
	t, err := npyTensor(bytes.NewReader(b), int64(len(b)), true)
	if err != nil {
		return nil, err
	}
	return t.read(buf)
}

func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// encode writes vals in the float dtype descr ("<f4", ">f8", ...); for
// float16 each value must be one of those in halfBits.
func encode(t *testing.T, descr string, vals []float32) []byte {
	t.Helper()
	var order binary.AppendByteOrder = binary.LittleEndian
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

func TestNpyDtypesAndVersions(t *testing.T) {
	want := []float32{1, -2, 0.5, 65504, 3, 0}
	for _, descr := range []string{"<f4", ">f4", "<f8", ">f8", "<f2", ">f2"} {
		for _, major := range []byte{1, 2, 3} {
			b := npyOfVersion(major, dictFor(descr, "(2, 3)"), encode(t, descr, want))
			a, err := readNpy(b)
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

func TestNpyFloat64Rounds(t *testing.T) {
	x := 0.1
	b := npyOfVersion(1, dictFor("<f8", "(1,)"), binary.LittleEndian.AppendUint64(nil, math.Float64bits(x)))
	a, err := readNpy(b)
	if err != nil {
		t.Fatal(err)
	}
	if a.Data[0] != float32(x) {
		t.Errorf("got %v, want %v", a.Data[0], float32(x))
	}
}

func TestNpyDictSyntax(t *testing.T) {
	data := encode(t, "<f4", []float32{1, 2, 3, 4, 5, 0})
	for _, dict := range []string{
		`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`,
		`{"descr": "<f4", "fortran_order": False, "shape": (2, 3)}`,
		`{'shape': (2,3,), 'descr': '<f4', 'fortran_order': False}`,
		`{ 'fortran_order' :False ,	'shape':( 2 , 3 ) ,'descr':'<f4' , }`,
		`{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }`,
		`{'descr': '<f4', 'fortran_order': False, 'shape': (+2, 3), }` + strings.Repeat(" ", 40),
	} {
		a, err := readNpy(npyOfVersion(1, dict, data))
		if err != nil {
			t.Errorf("%s: %v", dict, err)
			continue
		}
		if !slices.Equal(a.Shape, []int{2, 3}) || len(a.Data) != 6 {
			t.Errorf("%s: got shape %v, %d values", dict, a.Shape, len(a.Data))
		}
	}
}

func TestNpyFortranOrder(t *testing.T) {
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
				idx[k]++
				if idx[k] < shape[k] {
					break
				}
				idx[k] = 0
			}
		}
		dict := "{'descr': '<f4', 'fortran_order': True, 'shape': " + pyShapeTuple(shape) + ", }"
		a, err := readNpy(npyOfVersion(1, dict, encode(t, "<f4", vals)))
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
	b := npyOfVersion(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
		encode(t, "<f4", []float32{0, 3, 1, 4, 2, 5}))
	a, err := readNpy(b)
	if err != nil || !slices.Equal(a.Data, []float32{0, 1, 2, 3, 4, 5}) {
		t.Errorf("2x3 Fortran: got %v, %v", a, err)
	}
}

// pyShapeTuple formats shape as Python does: (), (5,), (2, 3).
func pyShapeTuple(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(shape) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func TestNpyScalarAndEmpty(t *testing.T) {
	a, err := readNpy(npyOfVersion(1, dictFor("<f4", "()"), encode(t, "<f4", []float32{3})))
	if err != nil || len(a.Shape) != 0 || !slices.Equal(a.Data, []float32{3}) || a.Len() != 1 {
		t.Errorf("scalar: got %+v, %v", a, err)
	}
	for _, fortran := range []string{"False", "True"} {
		dict := "{'descr': '<f8', 'fortran_order': " + fortran + ", 'shape': (0, 4), }"
		a, err := readNpy(npyOfVersion(1, dict, nil))
		if err != nil || !slices.Equal(a.Shape, []int{0, 4}) || len(a.Data) != 0 || a.Len() != 0 {
			t.Errorf("empty, fortran_order %s: got %+v, %v", fortran, a, err)
		}
	}
	// A zero dimension makes the array empty even when the others are huge.
	a, err = readNpy(npyOfVersion(1, dictFor("<f4", "(2147483647, 0)"), nil))
	if err != nil || len(a.Data) != 0 {
		t.Errorf("huge empty: got %+v, %v", a, err)
	}
}

func TestNpyErrors(t *testing.T) {
	f4 := encode(t, "<f4", []float32{1, 2})
	valid := npyOfVersion(1, dictFor("<f4", "(2,)"), f4)
	v2Huge := append([]byte(npy.Magic), 2, 0, 0xff, 0xff, 0xff, 0xff)
	tests := []struct {
		name string
		file []byte
		want error
		msg  string // part of the message
	}{
		{"empty", nil, ErrFormat, "truncated .npy header"},
		{"bad magic", append([]byte("\x93NUMPZ"), valid[6:]...), ErrFormat, "bad .npy magic"},
		{"short preamble", valid[:9], ErrFormat, "truncated .npy header"},
		{"version 4.0", append(append([]byte(npy.Magic), 4, 0), valid[8:]...), ErrFormat, "version 4.0"},
		{"version 1.1", append(append([]byte(npy.Magic), 1, 1), valid[8:]...), ErrFormat, "version 1.1"},
		{"v2 short length", v2Huge[:11], ErrFormat, "truncated .npy header"},
		{"truncated header", valid[:30], ErrFormat, "truncated .npy header"},
		{"absurd header length", v2Huge, ErrFormat, "header length 4294967295"},
		{"header over 1 MiB", append(append([]byte(npy.Magic), 2, 0), binary.LittleEndian.AppendUint32(nil, 1<<20+1)...), ErrFormat, "exceeds"},
		{"not a dict", npyOfVersion(1, "('<f4', False, (2,))", f4), ErrFormat, "not a dict"},
		{"missing key", npyOfVersion(1, "{'descr': '<f4', 'shape': (2,)}", f4), ErrFormat, "keys"},
		{"extra key", npyOfVersion(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", f4), ErrFormat, "keys"},
		{"duplicate key", npyOfVersion(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", f4), ErrFormat, "duplicate"},
		{"non-string key", npyOfVersion(1, "{1: '<f4'}", f4), ErrFormat, "not a string"},
		{"missing colon", npyOfVersion(1, "{'descr' '<f4'}", f4), ErrFormat, "':'"},
		{"missing comma", npyOfVersion(1, "{'descr': '<f4' 'shape': (2,)}", f4), ErrFormat, "','"},
		{"unclosed dict", npyOfVersion(1, "{'descr': '<f4', ", f4), ErrFormat, "end of header"},
		{"text after dict", npyOfVersion(1, dictFor("<f4", "(2,)")+" x", f4), ErrFormat, "after the dict"},
		{"newline in string", npyOfVersion(1, "{'descr: 1}", f4), ErrFormat, "newline in string"},
		{"unterminated string", append([]byte(npy.Magic+"\x01\x00\x05\x00{'abc"), f4...), ErrFormat, "unterminated"},
		{"bad fortran_order", npyOfVersion(1, "{'descr': '<f4', 'fortran_order': 'no', 'shape': (2,)}", f4), ErrFormat, "fortran_order"},
		{"unknown name", npyOfVersion(1, "{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", f4), ErrFormat, "false"},
		{"shape list", npyOfVersion(1, dictFor("<f4", "[2]"), f4), ErrFormat, "not a tuple"},
		{"shape int in parens", npyOfVersion(1, dictFor("<f4", "(2)"), f4), ErrFormat, "not a tuple"},
		{"negative dim", npyOfVersion(1, dictFor("<f4", "(-2,)"), f4), ErrFormat, "negative"},
		{"float dim", npyOfVersion(1, dictFor("<f4", "(2.0,)"), f4), ErrFormat, "invalid integer"},
		{"string dim", npyOfVersion(1, dictFor("<f4", "('2',)"), f4), ErrFormat, "not an integer"},
		{"double sign", npyOfVersion(1, dictFor("<f4", "(--2,)"), f4), ErrFormat, "invalid integer"},
		{"empty item", npyOfVersion(1, dictFor("<f4", "(2,,)"), f4), ErrFormat, "unexpected ','"},
		{"deep nesting", npyOfVersion(1, dictFor("<f4", strings.Repeat("(", 100)), f4), ErrFormat, "nesting"},
		{"65 dimensions", npyOfVersion(1, dictFor("<f4", "("+strings.Repeat("1, ", 65)+")"), f4[:4]), ErrFormat, "65 dimensions"},
		{"dim overflows int", npyOfVersion(1, dictFor("<f4", "(99999999999999999999999,)"), f4), ErrTooLarge, "overflows int"},
		{"product overflows", npyOfVersion(1, dictFor("<f4", "(65536, 65536, 65536, 65536)"), f4), ErrTooLarge, "more than"},
		{"trailing bytes", append(slices.Clone(valid), 0, 0, 0), ErrFormat, "3 trailing bytes"},
		{"truncated data", valid[:len(valid)-1], ErrTruncated, "needs 8 data bytes, have 7"},
	}
	for _, descr := range []string{"'<i4'", "'|u1'", "'<c8'", "'|O'", "'O'", "[('a', '<f4')]",
		"'=f4'", "'|f4'", "'f4'", "'<f16'", "'<e'", "'<f4 '", "5", "None"} {
		dict := "{'descr': " + descr + ", 'fortran_order': False, 'shape': (2,), }"
		tests = append(tests, struct {
			name string
			file []byte
			want error
			msg  string
		}{"dtype " + descr, npyOfVersion(1, dict, f4), ErrDtype, descr})
	}
	for _, tt := range tests {
		a, err := readNpy(tt.file)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: got %v, %v; want error %q containing %q", tt.name, a, err, tt.want, tt.msg)
		}
	}
}

// Data that ends before the size the reader was given is ErrTruncated.
func TestNpyShortReader(t *testing.T) {
	b := npyOfVersion(3, dictFor("<f4", "(3,)"), encode(t, "<f4", []float32{1, 2, 3}))
	tn, err := npyTensor(bytes.NewReader(b[:len(b)-2]), int64(len(b)), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.read(nil); !errors.Is(err, ErrTruncated) {
		t.Errorf("got %v, want ErrTruncated", err)
	}
}

// A header claiming 10^12 elements (or a 4 GiB header) in a tiny file must
// fail before allocating anything of that size.
func TestNpyHugeClaimsDoNotAllocate(t *testing.T) {
	files := [][]byte{
		npyOfVersion(1, dictFor("<f4", "(1000000, 1000000)"), encode(t, "<f4", []float32{1, 2})),
		append([]byte(npy.Magic), 2, 0, 0xff, 0xff, 0xff, 0x7f, '{'),
	}
	for _, b := range files {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := readNpy(b)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrFormat) {
			t.Errorf("got %v, want ErrTruncated, ErrTooLarge or ErrFormat", err)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Errorf("allocated %d bytes", d)
		}
	}
	b := files[0]
	if allocs := testing.AllocsPerRun(10, func() { readNpy(b) }); allocs > 50 {
		t.Errorf("%v allocations per Read", allocs)
	}
}

func TestNpyHeader(t *testing.T) {
	data := encode(t, ">f8", []float32{1, 2})
	dict := "{'descr': '>f8', 'fortran_order': True, 'shape': (1, 2), }"
	r := bytes.NewReader(npyOfVersion(2, dict, data))
	h, err := readNpyHeader(r, r.Size())
	if err != nil {
		t.Fatal(err)
	}
	if h.dt.name != ">f8" || h.dt.kind != Float64 || h.dt.order != binary.BigEndian || !h.fortran ||
		!slices.Equal(h.shape, []int{1, 2}) || h.dataOffset != int64(12+len(dict)+1) {
		t.Errorf("got %+v, want >f8, Fortran order, shape [1 2], data at %d", h, 12+len(dict)+1)
	}
	if rest, _ := io.ReadAll(r); !bytes.Equal(rest, data) {
		t.Errorf("reader not left at the data")
	}
	i8 := npyOfVersion(1, dictFor("<i8", "(2,)"), nil)
	if _, err := readNpyHeader(bytes.NewReader(i8), int64(len(i8))); !errors.Is(err, ErrDtype) {
		t.Errorf("<i8: got %v, want ErrDtype", err)
	}
}

func TestNpyReadReusesTheBuffer(t *testing.T) {
	var b bytes.Buffer
	if err := npy.Write(&b, []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}); err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 10)
	a, err := readNpyInto(b.Bytes(), buf)
	if err != nil {
		t.Fatal(err)
	}
	if &a.Data[0] != &buf[0] || len(a.Data) != 6 || a.Data[5] != 6 {
		t.Errorf("read did not decode into the buffer: %v", a.Data)
	}
	small := make([]float32, 2)
	if a, err = readNpyInto(b.Bytes(), small); err != nil || &a.Data[0] == &small[0] || len(a.Data) != 6 {
		t.Errorf("read with a small buffer: %v, %v", a, err)
	}
}

func TestNpyWriteRoundTrip(t *testing.T) {
	nan := math.Float32frombits(0x7fc01234)
	arrays := []*Array{
		{Shape: []int{}, Data: []float32{7}},
		{Shape: []int{0, 4}, Data: []float32{}},
		{Shape: []int{5}, Data: []float32{1, 0, float32(math.Inf(1)), nan, 0x1p-149}}, // [1]: −0, set below
		{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Shape: []int{3, 1, 2}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Shape: []int{chunkBytes/4 + 3}, Data: make([]float32, chunkBytes/4+3)},
	}
	arrays[2].Data[1] = float32(math.Copysign(0, -1))
	for _, a := range arrays {
		var buf bytes.Buffer
		if err := npy.Write(&buf, a.Shape, a.Data); err != nil {
			t.Fatalf("%v: %v", a.Shape, err)
		}
		h, err := readNpyHeader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil || h.dt.name != "<f4" || h.fortran || h.dataOffset%64 != 0 {
			t.Errorf("%v: header %+v, %v", a.Shape, h, err)
		}
		got, err := readNpy(buf.Bytes())
		if err != nil {
			t.Fatalf("%v: %v", a.Shape, err)
		}
		if !slices.Equal(got.Shape, a.Shape) || !sameBits(got.Data, a.Data) {
			t.Errorf("%v: got %v %v, want %v", a.Shape, got.Shape, got.Data, a.Data)
		}
	}
}

// Files written by numpy.save in the repository's test data must come out
// of Read and Write byte for byte the same.
func TestNpyWriteMatchesNumpy(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/*/*/*.npy")
	if len(paths) == 0 {
		t.Skip("no .npy files in ../testdata")
	}
	for _, p := range paths {
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Read(Ref{Path: p})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := npy.Write(&buf, a.Shape, a.Data); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), orig) {
			t.Errorf("%s: written bytes differ from numpy's", p)
		}
	}
}
