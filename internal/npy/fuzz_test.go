package npy

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func FuzzRead(f *testing.F) {
	one := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xc0, 0x7f, 1, 2, 3, 4}
	for _, descr := range []string{"<f4", ">f4", "<f8", ">f8", "<f2", ">f2"} {
		size := int(descr[2] - '0')
		f.Add(npyFile(1, dictFor(descr, "(3,)"), one[:3*size]))
	}
	f.Add(npyFile(2, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", one))
	f.Add(npyFile(3, `{"shape": (), "descr": ">f8", "fortran_order": False}`, one[:8]))
	f.Add(npyFile(1, dictFor("<f2", "(0, 4)"), nil))
	f.Add(npyFile(1, dictFor("<i4", "(2,)"), one[:8]))
	f.Add(npyFile(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", one[:4]))
	f.Add(npyFile(1, dictFor("<f4", "(1000000, 1000000)"), one))
	f.Add(npyFile(1, dictFor("<f4", "(-1,)"), nil))
	f.Add([]byte(magic + "\x02\x00\xff\xff\xff\xff"))
	f.Add([]byte("\x93NUMPY\x01\x00"))

	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			// Only the input can be at fault when reading from memory.
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrDtype) &&
				!errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		n, err := elemCount(a.Shape)
		if err != nil || n != len(a.Data) || a.Len() != n {
			t.Fatalf("shape %v with %d values (%v)", a.Shape, len(a.Data), err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatalf("Write: %v", err)
		}
		back, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		if !slices.Equal(back.Shape, a.Shape) || !sameBits(back.Data, a.Data) {
			t.Fatalf("round trip changed %v %v into %v %v", a.Shape, a.Data, back.Shape, back.Data)
		}
	})
}
