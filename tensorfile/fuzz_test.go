package tensorfile

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/internal/npy"
)

// checkErr fails unless err is nil or wraps a sentinel: reading from
// memory, only the input can be at fault.
func checkErr(t *testing.T, err error) {
	t.Helper()
	for _, s := range []error{ErrFormat, ErrDtype, ErrKey, ErrTruncated, ErrTooLarge, ErrForbidden} {
		if err == nil || errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error wraps no sentinel: %v", err)
}

// readEverything reads every tensor of the file in b, whole and, where its
// rows are contiguous, by rows as --stacked does, checking each result's
// size against its shape.
func readEverything(t *testing.T, b []byte) {
	f, err := openAt(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		checkErr(t, err)
		return
	}
	defer f.Close()
	_, err = f.batchKeys()
	checkErr(t, err)
	keys := f.keys()
	if keys == nil {
		keys = []string{""}
	}
	for _, k := range keys {
		tn, err := f.tensor(k)
		if err != nil {
			checkErr(t, err)
			continue
		}
		check := func(a *Array, err error) {
			if err != nil {
				checkErr(t, err)
				return
			}
			if n, err := elemCount(a.Shape); err != nil || n != len(a.Data) {
				t.Fatalf("shape %v with %d values", a.Shape, len(a.Data))
			}
		}
		check(tn.read(nil))
		if len(tn.shape) > 0 && tn.shape[0] > 0 && tn.row(0).contiguous() {
			check(tn.row(0).read(nil))
			check(tn.row(tn.shape[0] - 1).read(nil))
		}
	}
}

// seeds adds the fixture files of the given names to f.
func seeds(f *testing.F, names ...string) [][]byte {
	var out [][]byte
	for _, name := range names {
		b, err := os.ReadFile(fixture(name))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzNpy reads fuzzed .npy files; what it reads must come back bit for
// bit from npy.Write.
func FuzzNpy(f *testing.F) {
	one := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xc0, 0x7f, 1, 2, 3, 4}
	for _, descr := range []string{"<f4", ">f4", "<f8", ">f8", "<f2", ">f2"} {
		size := int(descr[2] - '0')
		f.Add(npyOfVersion(1, dictFor(descr, "(3,)"), one[:3*size]))
	}
	f.Add(npyOfVersion(2, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", one))
	f.Add(npyOfVersion(3, `{"shape": (), "descr": ">f8", "fortran_order": False}`, one[:8]))
	f.Add(npyOfVersion(1, dictFor("<f2", "(0, 4)"), nil))
	f.Add(npyOfVersion(1, dictFor("<i4", "(2,)"), one[:8]))
	f.Add(npyOfVersion(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", one[:4]))
	f.Add(npyOfVersion(1, dictFor("<f4", "(1000000, 1000000)"), one))
	f.Add(npyOfVersion(1, dictFor("<f4", "(-1,)"), nil))
	f.Add([]byte(npy.Magic + "\x02\x00\xff\xff\xff\xff"))
	f.Add([]byte(npy.Magic + "\x01\x00"))

	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := readNpy(b)
		if err != nil {
			checkErr(t, err)
			return
		}
		if n, err := elemCount(a.Shape); err != nil || n != len(a.Data) {
			t.Fatalf("shape %v with %d values (%v)", a.Shape, len(a.Data), err)
		}
		var buf bytes.Buffer
		if err := npy.Write(&buf, a.Shape, a.Data); err != nil {
			t.Fatalf("Write: %v", err)
		}
		back, err := readNpy(buf.Bytes())
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		if !slices.Equal(back.Shape, a.Shape) || !sameBits(back.Data, a.Data) {
			t.Fatalf("round trip changed %v %v into %v %v", a.Shape, a.Data, back.Shape, back.Data)
		}
	})
}

// FuzzNpz reads fuzzed archives, and a fuzzed .npy member in a valid zip,
// stored and deflated (a mutated zip rarely keeps its checksums).
func FuzzNpz(f *testing.F) {
	member := npyBytes("{'descr': '<f2', 'fortran_order': True, 'shape': (2, 3), }", make([]byte, 12))
	for _, b := range seeds(f, "acts.npz", "acts_compressed.npz", "layer.npz") {
		f.Add(b, member)
	}
	f.Add([]byte("PK\x05\x06"+string(make([]byte, 18))), npyBytes("{'descr': '>f8', 'fortran_order': False, 'shape': (1000000, 1000000), }", nil))
	f.Fuzz(func(t *testing.T, archive, member []byte) {
		readEverything(t, archive)
		readEverything(t, zipOf(zip.Store, "x.npy")(member))
		readEverything(t, zipOf(zip.Deflate, "x.npy")(member))
	})
}

func FuzzSafetensors(f *testing.F) {
	for _, b := range seeds(f, "layer.safetensors") {
		f.Add(b)
	}
	f.Add(safetensorsBytes(`{"a":{"dtype":"BF16","shape":[2,1],"data_offsets":[0,4]},"b":{"dtype":"F64","shape":[],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Add(safetensorsBytes(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, make([]byte, 16)))
	f.Fuzz(func(t *testing.T, b []byte) { readEverything(t, b) })
}

// FuzzTorchFile unpickles a fuzzed data.pkl over a fuzzed storage "0", in
// a valid zip (a mutated zip is FuzzNpz's job).
func FuzzTorchFile(f *testing.F) {
	for _, b := range seeds(f, "rank_0.pth", "layer.pt", "acts.pt", "acts_dict.pt", "stacked.pt") {
		pkl, storage := torchParts(f, b)
		f.Add(pkl, storage)
	}
	f.Add(tensorPickle("BFloat16Storage", 4, "K\x02K\x02\x86", "K\x01K\x02\x86"), make([]byte, 8))
	f.Add([]byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00idq\x00\x85R."), []byte{})
	f.Add([]byte("]q\x00h\x00a."), []byte{})
	f.Fuzz(func(t *testing.T, pkl, storage []byte) {
		readEverything(t, torchZip(pkl, storage))
	})
}

// torchParts returns a torch.save file's pickle and its storage "0".
func torchParts(f *testing.F, b []byte) (pkl, storage []byte) {
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range z.File {
		rc, err := e.Open()
		if err != nil {
			f.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		if err != nil {
			f.Fatal(err)
		}
		switch {
		case strings.HasSuffix(e.Name, "/data.pkl"):
			pkl = data
		case strings.HasSuffix(e.Name, "/data/0"):
			storage = data
		}
	}
	return pkl, storage
}
