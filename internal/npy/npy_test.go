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
	"strconv"
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
				idx[k]++
				if idx[k] < shape[k] {
					break
				}
				idx[k] = 0
			}
		}
		dict := "{'descr': '<f4', 'fortran_order': True, 'shape': " + pyTuple(shape) + ", }"
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

// pyTuple formats shape as Python does: (), (5,), (2, 3).
func pyTuple(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(shape) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func TestReadScalarAndEmpty(t *testing.T) {
	a, err := readBytes(npyFile(1, dictFor("<f4", "()"), encode(t, "<f4", []float32{3})))
	if err != nil || len(a.Shape) != 0 || !slices.Equal(a.Data, []float32{3}) || a.Len() != 1 {
		t.Errorf("scalar: got %+v, %v", a, err)
	}
	for _, fortran := range []string{"False", "True"} {
		dict := "{'descr': '<f8', 'fortran_order': " + fortran + ", 'shape': (0, 4), }"
		a, err := readBytes(npyFile(1, dict, nil))
		if err != nil || !slices.Equal(a.Shape, []int{0, 4}) || len(a.Data) != 0 || a.Len() != 0 {
			t.Errorf("empty, fortran_order %s: got %+v, %v", fortran, a, err)
		}
	}
	// A zero dimension makes the array empty even when the others are huge.
	a, err = readBytes(npyFile(1, dictFor("<f4", "(2147483647, 0)"), nil))
	if err != nil || len(a.Data) != 0 {
		t.Errorf("huge empty: got %+v, %v", a, err)
	}
}

func TestReadErrors(t *testing.T) {
	f4 := encode(t, "<f4", []float32{1, 2})
	valid := npyFile(1, dictFor("<f4", "(2,)"), f4)
	v2Huge := append([]byte(magic), 2, 0, 0xff, 0xff, 0xff, 0xff)
	tests := []struct {
		name string
		file []byte
		want error
		msg  string // part of the message
	}{
		{"empty", nil, ErrFormat, "truncated header"},
		{"bad magic", append([]byte("\x93NUMPZ"), valid[6:]...), ErrFormat, "bad magic"},
		{"short preamble", valid[:9], ErrFormat, "truncated header"},
		{"version 4.0", append(append([]byte(magic), 4, 0), valid[8:]...), ErrFormat, "version 4.0"},
		{"version 1.1", append(append([]byte(magic), 1, 1), valid[8:]...), ErrFormat, "version 1.1"},
		{"v2 short length", v2Huge[:11], ErrFormat, "truncated header"},
		{"truncated header", valid[:30], ErrFormat, "truncated header"},
		{"absurd header length", v2Huge, ErrFormat, "header length 4294967295"},
		{"header over 1 MiB", append(append([]byte(magic), 2, 0), binary.LittleEndian.AppendUint32(nil, 1<<20+1)...), ErrFormat, "exceeds"},
		{"not a dict", npyFile(1, "('<f4', False, (2,))", f4), ErrFormat, "not a dict"},
		{"missing key", npyFile(1, "{'descr': '<f4', 'shape': (2,)}", f4), ErrFormat, "keys"},
		{"extra key", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", f4), ErrFormat, "keys"},
		{"duplicate key", npyFile(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", f4), ErrFormat, "duplicate"},
		{"non-string key", npyFile(1, "{1: '<f4'}", f4), ErrFormat, "not a string"},
		{"missing colon", npyFile(1, "{'descr' '<f4'}", f4), ErrFormat, "':'"},
		{"missing comma", npyFile(1, "{'descr': '<f4' 'shape': (2,)}", f4), ErrFormat, "','"},
		{"unclosed dict", npyFile(1, "{'descr': '<f4', ", f4), ErrFormat, "end of header"},
		{"text after dict", npyFile(1, dictFor("<f4", "(2,)")+" x", f4), ErrFormat, "after the dict"},
		{"newline in string", npyFile(1, "{'descr: 1}", f4), ErrFormat, "newline in string"},
		{"unterminated string", append([]byte(magic+"\x01\x00\x05\x00{'abc"), f4...), ErrFormat, "unterminated"},
		{"bad fortran_order", npyFile(1, "{'descr': '<f4', 'fortran_order': 'no', 'shape': (2,)}", f4), ErrFormat, "fortran_order"},
		{"unknown name", npyFile(1, "{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", f4), ErrFormat, "false"},
		{"shape list", npyFile(1, dictFor("<f4", "[2]"), f4), ErrFormat, "not a tuple"},
		{"shape int in parens", npyFile(1, dictFor("<f4", "(2)"), f4), ErrFormat, "not a tuple"},
		{"negative dim", npyFile(1, dictFor("<f4", "(-2,)"), f4), ErrFormat, "negative"},
		{"float dim", npyFile(1, dictFor("<f4", "(2.0,)"), f4), ErrFormat, "invalid integer"},
		{"string dim", npyFile(1, dictFor("<f4", "('2',)"), f4), ErrFormat, "not an integer"},
		{"double sign", npyFile(1, dictFor("<f4", "(--2,)"), f4), ErrFormat, "invalid integer"},
		{"empty item", npyFile(1, dictFor("<f4", "(2,,)"), f4), ErrFormat, "unexpected ','"},
		{"deep nesting", npyFile(1, dictFor("<f4", strings.Repeat("(", 100)), f4), ErrFormat, "nesting"},
		{"65 dimensions", npyFile(1, dictFor("<f4", "("+strings.Repeat("1, ", 65)+")"), f4[:4]), ErrFormat, "65 dimensions"},
		{"dim overflows int", npyFile(1, dictFor("<f4", "(99999999999999999999999,)"), f4), ErrTooLarge, "overflows int"},
		{"product overflows", npyFile(1, dictFor("<f4", "(65536, 65536, 65536, 65536)"), f4), ErrTooLarge, "more than"},
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
		}{"dtype " + descr, npyFile(1, dict, f4), ErrDtype, descr})
	}
	for _, tt := range tests {
		a, err := readBytes(tt.file)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: got %v, %v; want error %q containing %q", tt.name, a, err, tt.want, tt.msg)
		}
	}
}

func TestReadShortReader(t *testing.T) {
	b := npyFile(3, dictFor("<f4", "(3,)"), encode(t, "<f4", []float32{1, 2, 3}))
	_, err := Read(bytes.NewReader(b[:len(b)-2]), int64(len(b)))
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("got %v, want ErrTruncated", err)
	}
	if _, err := Read(bytes.NewReader(b), -1); err == nil {
		t.Error("negative size: no error")
	}
}

// A header claiming 10^12 elements (or a 4 GiB header) in a tiny file must
// fail before allocating anything of that size.
func TestHugeClaimsDoNotAllocate(t *testing.T) {
	files := [][]byte{
		npyFile(1, dictFor("<f4", "(1000000, 1000000)"), encode(t, "<f4", []float32{1, 2})),
		append([]byte(magic), 2, 0, 0xff, 0xff, 0xff, 0x7f, '{'),
	}
	for _, b := range files {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := readBytes(b)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrFormat) {
			t.Errorf("got %v, want ErrTruncated, ErrTooLarge or ErrFormat", err)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Errorf("allocated %d bytes", d)
		}
	}
	b := files[0]
	if allocs := testing.AllocsPerRun(10, func() { readBytes(b) }); allocs > 50 {
		t.Errorf("%v allocations per Read", allocs)
	}
}

func TestReadHeader(t *testing.T) {
	data := encode(t, ">f8", []float32{1, 2})
	dict := "{'descr': '>f8', 'fortran_order': True, 'shape': (1, 2), }"
	r := bytes.NewReader(npyFile(2, dict, data))
	h, err := ReadHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Dtype: ">f8", FortranOrder: true, Shape: []int{1, 2}, DataOffset: int64(12 + len(dict) + 1)}
	if h.Dtype != want.Dtype || h.FortranOrder != want.FortranOrder || !slices.Equal(h.Shape, want.Shape) || h.DataOffset != want.DataOffset {
		t.Errorf("got %+v, want %+v", h, want)
	}
	if rest, _ := io.ReadAll(r); !bytes.Equal(rest, data) {
		t.Errorf("reader not left at the data")
	}
	if _, err := ReadHeader(bytes.NewReader(npyFile(1, dictFor("<i8", "(2,)"), nil))); !errors.Is(err, ErrDtype) {
		t.Errorf("<i8: got %v, want ErrDtype", err)
	}
}

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

func TestWriteRoundTrip(t *testing.T) {
	nan := math.Float32frombits(0x7fc01234)
	arrays := []*Array{
		{Shape: []int{}, Data: []float32{7}},
		{Shape: []int{0, 4}, Data: []float32{}},
		{Shape: []int{5}, Data: []float32{1, -0.0, float32(math.Inf(1)), nan, 0x1p-149}},
		{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Shape: []int{3, 1, 2}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Shape: []int{chunkBytes/4 + 3}, Data: make([]float32, chunkBytes/4+3)},
	}
	arrays[2].Data[1] = float32(math.Copysign(0, -1))
	for _, a := range arrays {
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatalf("%v: %v", a.Shape, err)
		}
		h, err := ReadHeader(bytes.NewReader(buf.Bytes()))
		if err != nil || h.Dtype != "<f4" || h.FortranOrder || h.DataOffset%64 != 0 {
			t.Errorf("%v: header %+v, %v", a.Shape, h, err)
		}
		got, err := readBytes(buf.Bytes())
		if err != nil {
			t.Fatalf("%v: %v", a.Shape, err)
		}
		if !slices.Equal(got.Shape, a.Shape) || !sameBits(got.Data, a.Data) {
			t.Errorf("%v: got %v %v, want %v", a.Shape, got.Shape, got.Data, a.Data)
		}
	}
}

func TestWriteHeaderBytes(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, &Array{Shape: []int{2, 3}, Data: make([]float32, 6)}); err != nil {
		t.Fatal(err)
	}
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
	want := "\x93NUMPY\x01\x00\x76\x00" + dict + strings.Repeat(" ", 128-10-len(dict)-1) + "\n"
	if got := buf.String()[:128]; got != want {
		t.Errorf("header\n got %q\nwant %q", got, want)
	}
}

// Files written by numpy.save in the repository's test data must come out
// of Read and Write byte for byte the same.
func TestWriteMatchesNumpy(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/*/*/*.npy")
	if len(paths) == 0 {
		t.Skip("no .npy files in ../../testdata")
	}
	for _, p := range paths {
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), orig) {
			t.Errorf("%s: written bytes differ from numpy's", p)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	for _, a := range []*Array{
		nil,
		{Shape: []int{2, 3}, Data: make([]float32, 5)},
		{Shape: []int{}, Data: nil},
		{Shape: []int{-1}, Data: nil},
		{Shape: []int{math.MaxInt / 2, 4}, Data: nil},
		{Shape: make([]int, 65), Data: nil},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, a); err == nil {
			t.Errorf("%+v: no error", a)
		} else if buf.Len() != 0 {
			t.Errorf("%+v: wrote %d bytes before failing", a, buf.Len())
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.npy")
	first := &Array{Shape: []int{2}, Data: []float32{1, 2}}
	second := &Array{Shape: []int{1, 3}, Data: []float32{3, 4, 5}}
	for _, a := range []*Array{first, second} {
		if err := WriteFile(path, a); err != nil {
			t.Fatal(err)
		}
	}
	// A failed write must leave the previous file as it was.
	if err := WriteFile(path, &Array{Shape: []int{4}, Data: []float32{1}}); err == nil {
		t.Error("mismatched array: no error")
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Shape, second.Shape) || !slices.Equal(got.Data, second.Data) {
		t.Errorf("got %+v, want %+v", got, second)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "a.npy" {
		t.Errorf("directory holds %v, want only a.npy", entries)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "b.npy"), first); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: got %v, want fs.ErrNotExist", err)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(filepath.Join(dir, "none.npy")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.npy")
	if err := os.WriteFile(bad, []byte("not numpy"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(bad); !errors.Is(err, ErrFormat) {
		t.Errorf("bad file: got %v, want ErrFormat", err)
	}
}

func TestReadIntoReusesTheBuffer(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, &Array{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}); err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 10)
	a, err := ReadInto(bytes.NewReader(b.Bytes()), int64(b.Len()), buf)
	if err != nil {
		t.Fatal(err)
	}
	if &a.Data[0] != &buf[0] || len(a.Data) != 6 || a.Data[5] != 6 {
		t.Errorf("ReadInto did not decode into the buffer: %v", a.Data)
	}
	small := make([]float32, 2)
	if a, err = ReadInto(bytes.NewReader(b.Bytes()), int64(b.Len()), small); err != nil || &a.Data[0] == &small[0] || len(a.Data) != 6 {
		t.Errorf("ReadInto with a small buffer: %v, %v", a, err)
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
