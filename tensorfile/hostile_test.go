package tensorfile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// zipOf builds a zip of the named members, stored or deflated.
func zipOf(method uint16, members ...string) func(contents ...[]byte) []byte {
	return func(contents ...[]byte) []byte {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		for i, name := range members {
			f, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: method})
			if err == nil {
				_, err = f.Write(contents[i])
			}
			if err != nil {
				panic(err)
			}
		}
		if err := w.Close(); err != nil {
			panic(err)
		}
		return buf.Bytes()
	}
}

// torchZip builds a torch.save-like file from a pickle and one storage.
var torchZip = zipOf(zip.Store, "archive/data.pkl", "archive/data/0")

// npyBytes is a version 1.0 .npy file with any header dict and data.
func npyBytes(dict string, data []byte) []byte {
	return npyOfVersion(1, dict+strings.Repeat(" ", 63-(10+len(dict))%64), data)
}

// safetensorsBytes is a safetensors file with any header and data.
func safetensorsBytes(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// readAll opens b and reads every tensor it lists, as the CLI would.
func readAll(b []byte) error { return readAllAt(bytes.NewReader(b), int64(len(b))) }

// readAllAt is readAll of a file of size bytes read through r.
func readAllAt(r io.ReaderAt, size int64) error {
	f, err := openAt(r, size, nil)
	if err != nil {
		return err
	}
	defer f.Close()
	keys := f.keys()
	if keys == nil {
		keys = []string{""}
	}
	for _, k := range keys {
		t, err := f.tensor(k)
		if err != nil {
			return err
		}
		if _, err := t.read(nil); err != nil {
			return err
		}
	}
	return nil
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestForbiddenGlobals(t *testing.T) {
	for _, tc := range []struct {
		name, pickle, mention string
	}{
		{"GLOBAL os.system", "\x80\x02cos\nsystem\nX\x02\x00\x00\x00idq\x00\x85R.", "os.system"},
		{"INST", "(X\x02\x00\x00\x00idios\nsystem\n.", "os.system"},
		{"STACK_GLOBAL builtins.eval", "\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R.", "builtins.eval"},
		{"GLOBAL __builtin__.object", "\x80\x02c__builtin__\nobject\n.", "__builtin__.object"},
		{"STACK_GLOBAL __builtin__.object", "\x80\x04\x8c\x0b__builtin__\x8c\x06object\x93.", "__builtin__.object"},
		{"GLOBAL copy_reg._reconstructor", "\x80\x02ccopy_reg\n_reconstructor\n.", "copy_reg._reconstructor"},
		{"STACK_GLOBAL copy_reg._reconstructor", "\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x08copy_reg\x94\x8c\x0e_reconstructor\x94\x93.", "copy_reg._reconstructor"},
		{"STACK_GLOBAL names from the memo", "\x80\x04\x8c\x0b__builtin__\x940\x8c\x01x\x940h\x00\x8c\x06object\x93.", "__builtin__.object"},
		{"STACK_GLOBAL of computed names", "\x80\x04\x8c\x01a\x8c\x01b\x86\x8c\x01c\x93.", "STACK_GLOBAL"},
		{"storage of another module", "\x80\x02cnumpy\nFloatStorage\n.", "numpy.FloatStorage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readAll(torchZip([]byte(tc.pickle), nil))
			if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("got %v, want ErrForbidden naming %s", err, tc.mention)
			}
		})
	}
}

func TestHostilePickles(t *testing.T) {
	huge := func(op byte) string { return "\x80\x04" + string(op) + "\x00\x00\x00\x00\x00\x00\x00\x10." }
	// Dicts 40 deep, each with two keys for the one below: 2^40 paths.
	shared := "\x80\x02}q\x00"
	for i := 1; i <= 40; i++ {
		prev := string(rune(i - 1))
		shared += "}(X\x01\x00\x00\x00ah" + prev + "X\x01\x00\x00\x00bh" + prev + "uq" + string(rune(i))
	}
	shared += "."
	for _, tc := range []struct {
		name, pickle string
		sentinel     error
	}{
		{"BINBYTES8 of 2^60 bytes", huge(0x8e), ErrFormat},
		{"BINUNICODE8 of 2^60 bytes", huge(0x8d), ErrFormat},
		{"FRAME of 2^60 bytes", huge(0x95), ErrFormat},
		{"BINUNICODE past the end", "\x80\x02X\xff\xff\xff\x7fab.", ErrFormat},
		{"odd SETITEMS (gopickle panics)", "}(K\x01u.", ErrFormat},
		{"a list inside itself", "]q\x00h\x00a.", ErrTooLarge},
		{"GET of a memo index never set", "\x80\x02]h\x07a.", ErrFormat},
		{"a dict shared 2^40 times", shared, ErrTooLarge}, // costs about maxTree
		{"unknown opcode", "\x80\x02\xff.", ErrFormat},
		{"LONG4 of 5000 bytes (quadratic to decode)", "\x80\x02\x8b\x88\x13\x00\x00" + strings.Repeat("\xff", 5000) + ".", ErrTooLarge},
		{"no STOP", "\x80\x02K\x01", ErrFormat},
		{"persistent id that is no storage", "\x80\x02K\x01Q.", ErrFormat},
		{"a set", "\x80\x04\x8f.", ErrForbidden},
		{"dict with a tuple key", "}))s.", ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			limit := uint64(1 << 20)
			if tc.pickle == shared {
				limit = 2 * maxTree
			}
			if n := allocated(func() { err = readAll(torchZip([]byte(tc.pickle), nil)) }); n > limit {
				t.Errorf("allocated %d bytes", n)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("got %v, want %v", err, tc.sentinel)
			}
		})
	}
}

// A tensor pickle over storage "0" of numel floats: shape and strides as
// given, storage offset 0.
func tensorPickle(class string, numel int, shape, strides string) []byte {
	return []byte("\x80\x02" + rebuildTensorOp(class, numel, 0, shape, strides) + ".")
}

// rebuildTensorOp is the pickle opcodes that build a tensor over storage
// "0" of numel elements of class, from element offset.
func rebuildTensorOp(class string, numel, offset int, shape, strides string) string {
	return fmt.Sprintf("ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\n%s\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu%stQ%s%s%s\x89tR",
		class, pickleInt(numel), pickleInt(offset), shape, strides)
}

// pickleInt is the BININT opcode of v.
func pickleInt(v int) string { return "J" + string(binary.LittleEndian.AppendUint32(nil, uint32(v))) }

func TestHostileTorchTensors(t *testing.T) {
	four := make([]byte, 16)
	for _, tc := range []struct {
		name     string
		file     []byte
		sentinel error
	}{
		{"ok", torchZip(tensorPickle("FloatStorage", 4, "K\x02K\x02\x86", "K\x02K\x01\x86"), four), nil},
		{"protocol 4", torchZip([]byte(strings.NewReplacer("ctorch._utils\n_rebuild_tensor_v2\n", "\x8c\x0ctorch._utils\x94\x8c\x12_rebuild_tensor_v2\x94\x93",
			"ctorch\nFloatStorage\n", "\x8c\x05torch\x94\x8c\x0cFloatStorage\x94\x93").Replace(string(tensorPickle("FloatStorage", 4, "K\x04\x85", "K\x01\x85")))), four), nil},
		{"transposed", torchZip(tensorPickle("FloatStorage", 4, "K\x02K\x02\x86", "K\x01K\x02\x86"), four), nil},
		{"past the storage", torchZip(tensorPickle("FloatStorage", 4, "K\x02K\x03\x86", "K\x03K\x01\x86"), four), ErrFormat},
		{"storage shorter than numel", torchZip(tensorPickle("FloatStorage", 5, "K\x05\x85", "K\x01\x85"), four), ErrFormat},
		{"expanded view", torchZip(tensorPickle("FloatStorage", 1, "J\x00\x00\x00\x40\x85", "K\x00\x85"), four[:4]), ErrFormat},
		{"int64", torchZip(tensorPickle("LongStorage", 2, "K\x02\x85", "K\x01\x85"), four), ErrDtype},
		// torch.load would read both as floats, the first one's dtype.
		{"one storage as two dtypes", torchZip([]byte("\x80\x02]("+rebuildTensorOp("FloatStorage", 4, 0, "K\x04\x85", "K\x01\x85")+
			rebuildTensorOp("HalfStorage", 8, 0, "K\x08\x85", "K\x01\x85")+"e."), four), ErrFormat},
		{"missing storage", zipOf(zip.Store, "archive/data.pkl")(tensorPickle("FloatStorage", 4, "K\x04\x85", "K\x01\x85")), ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := readAll(tc.file); !errors.Is(err, tc.sentinel) {
				t.Errorf("got %v, want %v", err, tc.sentinel)
			}
		})
	}
}

func TestHostileSafetensors(t *testing.T) {
	f32 := make([]byte, 16)
	for _, tc := range []struct {
		name     string
		file     []byte
		sentinel error
	}{
		{"ok", safetensorsBytes(`{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"k":"v"}}`, f32), nil},
		{"header longer than the file", safetensorsBytes(`{"a":1}`, nil)[:12], ErrTruncated},
		{"header over 100 MiB", append(binary.LittleEndian.AppendUint64(nil, 200<<20), `{}`...), ErrTooLarge},
		{"offsets past the data", safetensorsBytes(`{"a":{"dtype":"F32","shape":[5],"data_offsets":[0,20]}}`, f32), ErrFormat},
		{"begin after end", safetensorsBytes(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}`, f32), ErrFormat},
		{"size does not match shape", safetensorsBytes(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}`, f32), ErrFormat},
		{"name not UTF-8", safetensorsBytes("{\"\xff\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", f32), ErrFormat},
		{"hole before a tensor", safetensorsBytes(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}}`, f32), ErrFormat},
		{"bytes after the last tensor", safetensorsBytes(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}`, f32), ErrFormat},
		{"overlap", safetensorsBytes(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, f32), ErrFormat},
		{"huge shape", safetensorsBytes(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}`, f32), ErrTooLarge},
		{"negative dimension", safetensorsBytes(`{"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}`, f32), ErrFormat},
		{"unknown dtype", safetensorsBytes(`{"a":{"dtype":"C64","shape":[2],"data_offsets":[0,16]}}`, f32), ErrDtype},
		{"not JSON", safetensorsBytes(`{"a":`, f32), ErrFormat},
		// The safetensors library refuses these; encoding/json would take
		// the last "a" or "dtype", or "DTYPE" for "dtype".
		{"tensor named twice", safetensorsBytes(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, f32), ErrFormat},
		{"field given twice", safetensorsBytes(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"dtype":"F16","shape":[8]}}`, f32), ErrFormat},
		{"field in capitals", safetensorsBytes(`{"a":{"DTYPE":"F32","SHAPE":[4],"DATA_OFFSETS":[0,16]}}`, f32), ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := readAll(tc.file); !errors.Is(err, tc.sentinel) {
				t.Errorf("got %v, want %v", err, tc.sentinel)
			}
		})
	}
}

// A deflated .npz member whose sizes promise a gigabyte but whose data
// holds 16 bytes costs what it holds, not what it promises.
func TestDeflatedMemberThatLies(t *testing.T) {
	member := npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (268435456,), }", make([]byte, 16))
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(member)
	fw.Close()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	raw, err := w.CreateRaw(&zip.FileHeader{Name: "x.npy", Method: zip.Deflate,
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: 128 + 1<<30})
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(comp.Bytes())
	w.Close()
	if n := allocated(func() { err = readAll(buf.Bytes()) }); n > 4<<20 {
		t.Errorf("allocated %d bytes", n)
	}
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("got %v, want ErrTruncated", err)
	}

	// The same lie in a stored member is caught before reading.
	stored := zipOf(zip.Store, "x.npy")(member)
	if err := readAll(stored); !errors.Is(err, ErrTruncated) {
		t.Errorf("stored: got %v, want ErrTruncated", err)
	}
}

func TestNotATensorFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"text", []byte("hello, world\n")},
		{"empty", nil},
		{"legacy torch.save", []byte("\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")},
		{"broken zip", []byte("PK\x03\x04 not really")},
	} {
		if err := readAll(tc.file); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", tc.name, err)
		}
	}
}

// A dict key set twice keeps its first place and takes the last value, as
// torch.load's dict does, in a dict and in an OrderedDict; keys 1 and '1',
// or "a/b" beside "a" holding "b", are refused as ambiguous.
func TestDuplicateDictKeys(t *testing.T) {
	storage := floatsLE([]float32{0, 1, 2, 3})
	item := func(key string, offset int) string {
		return "X" + string(binary.LittleEndian.AppendUint32(nil, uint32(len(key)))) + key +
			rebuildTensorOp("FloatStorage", 4, offset, "K\x01\x85", "K\x01\x85")
	}
	items := item("a", 0) + item("b", 1) + item("a", 2)
	for _, dict := range []string{"}", "ccollections\nOrderedDict\n)R"} {
		b := torchZip([]byte("\x80\x02"+dict+"("+items+"u."), storage)
		f, err := openAt(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if keys := f.keys(); !slices.Equal(keys, []string{"a", "b"}) {
			t.Errorf("%s: keys %v, want [a b]", dict, keys)
		}
		tn, err := f.tensor("a")
		if err != nil {
			t.Fatal(err)
		}
		if a, err := tn.read(nil); err != nil || !slices.Equal(a.Data, []float32{2}) {
			t.Errorf("%s: a = %v, %v; want the last value, [2]", dict, a, err)
		}
	}
	ambiguous := "\x80\x02}(K\x01" + rebuildTensorOp("FloatStorage", 4, 0, "K\x01\x85", "K\x01\x85") + item("1", 1) + "u."
	if err := readAll(torchZip([]byte(ambiguous), storage)); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("keys 1 and '1': got %v, want ErrFormat saying ambiguous", err)
	}
	// A key holding '/' may name a path another value has.
	nested := func(key string) string { return "X\x01\x00\x00\x00a}" + item(key, 1) + "s" }
	if err := readAll(torchZip([]byte("\x80\x02}("+item("a/b", 0)+nested("c")+"u."), storage)); err != nil {
		t.Errorf("keys a/b and a/c: %v", err)
	}
	if err := readAll(torchZip([]byte("\x80\x02}("+item("a/b", 0)+nested("b")+"u."), storage)); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("keys a/b and a, b: got %v, want ErrFormat saying ambiguous", err)
	}
}

// Messages about a malformed pickle name what is wrong in Python's terms,
// without Go pointers or types.
func TestPickleMessagesShowNoGoInternals(t *testing.T) {
	hundred := "(" + strings.Repeat("K\x01", 100) + "t"
	goSyntax := regexp.MustCompile(`0x[0-9a-f]{6,}|&[{\[]|\*?types\.|tensorfile\.|interface \{\}|<nil>`)
	for _, tc := range []struct{ name, pickle, mention string }{
		{"100-dim tensor", "\x80\x02" + rebuildTensorOp("FloatStorage", 1, 0, hundred, hundred) + ".", "100 dimensions"},
		{"stride of strings", "\x80\x02" + rebuildTensorOp("FloatStorage", 1, 0, "K\x01\x85", "X\x00\x00\x00\x00\x85") + ".", "holds a str"},
		{"storage offset of a list", "\x80\x02" + strings.Replace(rebuildTensorOp("FloatStorage", 1, 0, "K\x01\x85", "K\x01\x85"), "Q"+pickleInt(0), "Q]", 1) + ".", "a list"},
		{"persistent id of a dict", "\x80\x02}Q.", "a dict"},
		{"storage of a float key", "\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nG\x00\x00\x00\x00\x00\x00\x00\x00X\x03\x00\x00\x00cpuK\x01tQ.", "a float"},
		{"REDUCE of a tuple", "\x80\x02))R.", "REDUCE requires a Callable object"},
		{"STACK_GLOBAL of a tuple", "\x80\x04))\x93.", "STACK_GLOBAL"},
		{"_rebuild_parameter of a dict", "\x80\x02ctorch._utils\n_rebuild_parameter\n(}\x89tR.", "of a dict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readAll(torchZip([]byte(tc.pickle), make([]byte, 4)))
			if err == nil || !strings.Contains(err.Error(), tc.mention) || goSyntax.MatchString(err.Error()) {
				t.Errorf("got %v, want an error saying %q in Python's terms", err, tc.mention)
			}
		})
	}
}
