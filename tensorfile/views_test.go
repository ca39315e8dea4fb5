package tensorfile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// floatsLE is the little-endian bytes of vals.
func floatsLE(vals []float32) []byte {
	b := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// A view much smaller than its span, with strides out of storage order,
// comes back right from a stored and a deflated storage.
func TestSparseView(t *testing.T) {
	storage := make([]float32, 1000)
	for i := range storage {
		storage[i] = float32(i)
	}
	// shape (3, 4), strides (1, 200) from element 5: a transposed gather
	// of 12 elements over a span of 603.
	pkl := "\x80\x02" + rebuildTensorOp("FloatStorage", 1000, 5, "K\x03K\x04\x86", "K\x01K\xc8\x86") + "."
	var want []float32
	for i := range 3 {
		for j := range 4 {
			want = append(want, storage[5+i+200*j])
		}
	}
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		b := rawZip(entry("archive/data.pkl", zip.Store, []byte(pkl)), entry("archive/data/0", method, floatsLE(storage)))
		f, err := openAt(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			t.Fatal(err)
		}
		tn, err := f.tensor("")
		if err != nil {
			t.Fatal(err)
		}
		a, err := tn.read(nil)
		if err != nil || !slices.Equal(a.Shape, []int{3, 4}) || !slices.Equal(a.Data, want) {
			t.Errorf("method %d: got %v, %v; want %v", method, a, err, want)
		}
		f.Close()
	}
}

// deflatedZeros returns a deflate stream of mib MiB of zeros, made by
// repeating one flushed MiB, and their CRC-32.
func deflatedZeros(mib int) ([]byte, uint32) {
	zeros := make([]byte, 1<<20)
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	fw.Write(zeros)
	fw.Flush()
	first := buf.Len()
	fw.Write(zeros) // refers back to zeros only, so it can follow any MiB of them
	fw.Flush()
	next := buf.Len()
	fw.Close()
	b := buf.Bytes()
	out := slices.Clone(b[:first])
	crc := crc32.ChecksumIEEE(zeros)
	for range mib - 1 {
		out = append(out, b[first:next]...)
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	return append(out, b[next:]...), crc
}

// A 32-element view strided through a 256 MiB deflated storage costs
// memory for 32 elements, not for the storage.
func TestStridedViewOfHugeStorage(t *testing.T) {
	const mib = 256
	body, crc := deflatedZeros(mib)
	numel := mib << 20 / 4
	pkl := tensorPickle("FloatStorage", numel, "K\x20\x85", "("+pickleInt(numel/32)+"t")
	b := rawZip(entry("archive/data.pkl", zip.Store, pkl),
		rawEntry{name: "archive/data/0", method: zip.Deflate, body: body, size: mib << 20, crc: crc})
	var err error
	if n := allocated(func() { err = readAll(b) }); n > 4<<20 {
		t.Errorf("allocated %d bytes", n)
	}
	if err != nil {
		t.Error(err)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// Views of one deflated storage, read in order, inflate it about twice
// (once for the views, once to check its CRC-32), not once per view.
func TestManyViewsOfOneStorage(t *testing.T) {
	const views, per = 64, 16 << 10
	rng := rand.New(rand.NewPCG(1, 2))
	storage := make([]float32, views*per)
	for i := range storage {
		storage[i] = rng.Float32()
	}
	var pkl strings.Builder
	pkl.WriteString("\x80\x02](")
	for i := range views {
		pkl.WriteString(rebuildTensorOp("FloatStorage", len(storage), i*per, "("+pickleInt(per)+"t", "K\x01\x85"))
	}
	pkl.WriteString("e.")
	b := rawZip(entry("archive/data.pkl", zip.Store, []byte(pkl.String())), entry("archive/data/0", zip.Deflate, floatsLE(storage)))
	r := &countingReader{r: bytes.NewReader(b)}
	if err := readAllAt(r, int64(len(b))); err != nil {
		t.Fatal(err)
	}
	if got := r.n.Load(); got > 3*int64(len(b)) {
		t.Errorf("read %d bytes of a %d-byte file", got, len(b))
	}
}

// A sparse view of a deflated storage whose declared size lies costs what
// the storage holds, not what the view promises.
func TestSparseViewOfLyingStorage(t *testing.T) {
	const numel = 1 << 28
	pkl := tensorPickle("FloatStorage", numel, "("+pickleInt(numel/8)+"t", "K\x04\x85")
	b := rawZip(entry("archive/data.pkl", zip.Store, pkl),
		rawEntry{name: "archive/data/0", method: zip.Deflate, body: deflate(make([]byte, 16)), size: 4 * numel})
	var err error
	if n := allocated(func() { err = readAll(b) }); n > 4<<20 {
		t.Errorf("allocated %d bytes", n)
	}
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("got %v, want ErrTruncated", err)
	}
}
