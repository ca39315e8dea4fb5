package tensorfile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"
)

// rawEntry is a zip member written as given: its bytes as stored, its
// uncompressed size, the CRC-32 its headers claim and its general purpose
// flags.
type rawEntry struct {
	name   string
	method uint16
	body   []byte
	size   int64
	crc    uint32
	flags  uint16
}

// entry is a sound rawEntry holding data.
func entry(name string, method uint16, data []byte) rawEntry {
	body := data
	if method == zip.Deflate {
		body = deflate(data)
	}
	return rawEntry{name: name, method: method, body: body, size: int64(len(data)), crc: crc32.ChecksumIEEE(data)}
}

// claiming is e with a CRC-32 of crc.
func (e rawEntry) claiming(crc uint32) rawEntry {
	e.crc = crc
	return e
}

// rawZip builds a zip of the entries, claims and all.
func rawZip(entries ...rawEntry) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		f, err := w.CreateRaw(&zip.FileHeader{Name: e.name, Method: e.method, Flags: e.flags, CRC32: e.crc,
			CompressedSize64: uint64(len(e.body)), UncompressedSize64: uint64(e.size)})
		if err == nil {
			_, err = f.Write(e.body)
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

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	fw.Write(b)
	fw.Close()
	return buf.Bytes()
}

// A damaged member is refused, naming it and its CRC-32, whether it is
// read whole (an .npz array) or in part (a view of a torch storage), and
// even when the directory claims a CRC-32 of 0, which archive/zip skips.
func TestBadCRC(t *testing.T) {
	arr := npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", []byte("0123456789abcdef"))
	view := tensorPickle("FloatStorage", 4, "K\x02\x85", "K\x01\x85") // the first 2 of 4 elements
	pkl := entry("archive/data.pkl", zip.Store, view)
	flipped := rawZip(entry("x.npy", zip.Store, arr))
	flipped[bytes.Index(flipped, []byte("0123"))] ^= 0x40
	for _, tc := range []struct {
		name, member string
		file         []byte
	}{
		{"stored .npz, flipped data byte", "x.npy", flipped},
		{"stored .npz, wrong CRC", "x.npy", rawZip(entry("x.npy", zip.Store, arr).claiming(crc32.ChecksumIEEE(arr) ^ 1))},
		{"deflated .npz, wrong CRC", "x.npy", rawZip(entry("x.npy", zip.Deflate, arr).claiming(crc32.ChecksumIEEE(arr) ^ 1))},
		{"deflated .npz, CRC 0", "x.npy", rawZip(entry("x.npy", zip.Deflate, arr).claiming(0))},
		{"stored storage read in part", "archive/data/0", rawZip(pkl, entry("archive/data/0", zip.Store, make([]byte, 16)).claiming(1))},
		{"deflated storage read in part", "archive/data/0", rawZip(pkl, entry("archive/data/0", zip.Deflate, make([]byte, 16)).claiming(1))},
		{"deflated pickle", "archive/data.pkl", rawZip(entry("archive/data.pkl", zip.Deflate, view).claiming(7),
			entry("archive/data/0", zip.Store, make([]byte, 16)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readAll(tc.file)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.member+": bad CRC-32") {
				t.Errorf("got %v, want ErrFormat naming %s and its CRC-32", err, tc.member)
			}
		})
	}
	// The sound files read.
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		if err := readAll(rawZip(entry("archive/data.pkl", method, view), entry("archive/data/0", method, make([]byte, 16)))); err != nil {
			t.Errorf("method %d: %v", method, err)
		}
	}
}

func TestAmbiguousOrEncryptedMembers(t *testing.T) {
	arr := npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", nil)
	encrypted := entry("x.npy", zip.Store, arr)
	encrypted.flags = 1
	for _, tc := range []struct {
		name, mention string
		file          []byte
	}{
		{"encrypted", "x.npy is encrypted", rawZip(encrypted)},
		{"duplicate .npz member", "x.npy given twice", rawZip(entry("x.npy", zip.Store, arr), entry("x.npy", zip.Deflate, arr))},
		{"duplicate storage", "archive/data/0 given twice", rawZip(entry("archive/data.pkl", zip.Store, tensorPickle("FloatStorage", 1, "K\x01\x85", "K\x01\x85")),
			entry("archive/data/0", zip.Store, make([]byte, 4)), entry("archive/data/0", zip.Store, []byte{1, 2, 3, 4}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := readAll(tc.file); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("got %v, want ErrFormat saying %q", err, tc.mention)
			}
		})
	}
}

// An array read whole is checked by that read: no second pass over its
// member.
func TestWholeMemberCheckedInOnePass(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	vals := make([]float32, 1<<18)
	for i := range vals {
		vals[i] = rng.Float32() // hardly compresses: a second pass would show
	}
	arr := npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (262144,), }", floatsLE(vals))
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		b := rawZip(entry("x.npy", method, arr))
		r := &countingReader{r: bytes.NewReader(b)}
		if err := readAllAt(r, int64(len(b))); err != nil {
			t.Fatal(err)
		}
		if got := r.n.Load(); got > int64(len(b))+64<<10 {
			t.Errorf("method %d: read %d bytes of a %d-byte file", method, got, len(b))
		}
	}
}
