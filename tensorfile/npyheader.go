package tensorfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/chanprune/chanprune/internal/npy"

	"github.com/chanprune/chanprune/internal/clip"
)

// maxNpyHeader bounds the header dict of a .npy file.
const maxNpyHeader = 1 << 20

// npyHeader is the checked header of a .npy file.
type npyHeader struct {
	dt         dtype
	fortran    bool
	shape      []int
	dataOffset int64 // of the first data byte from the start of the file
}

// readNpyHeader reads the header of a .npy file of size bytes from r:
// format versions 1.0, 2.0 and 3.0, dtypes float16, float32 and float64 in
// explicit byte order, C or Fortran order.
func readNpyHeader(r io.Reader, size int64) (npyHeader, error) {
	// Magic, version and, for version 1.0, the 2-byte header length;
	// versions 2.0 and 3.0 use a 4-byte length.
	pre := make([]byte, 12)
	if err := readNpyBytes(r, pre[:10]); err != nil {
		return npyHeader{}, err
	}
	if string(pre[:6]) != npy.Magic {
		return npyHeader{}, fmt.Errorf("%w: bad .npy magic %q", ErrFormat, pre[:6])
	}
	major, minor := pre[6], pre[7]
	var hlen, offset int64
	switch {
	case major == 1 && minor == 0:
		hlen, offset = int64(binary.LittleEndian.Uint16(pre[8:])), 10
	case (major == 2 || major == 3) && minor == 0:
		if err := readNpyBytes(r, pre[10:12]); err != nil {
			return npyHeader{}, err
		}
		hlen, offset = int64(binary.LittleEndian.Uint32(pre[8:])), 12
	default:
		return npyHeader{}, fmt.Errorf("%w: unsupported .npy version %d.%d", ErrFormat, major, minor)
	}
	if hlen > maxNpyHeader {
		return npyHeader{}, fmt.Errorf("%w: .npy header length %d exceeds %d", ErrFormat, hlen, maxNpyHeader)
	}
	offset += hlen
	if offset > size {
		return npyHeader{}, fmt.Errorf("%w: truncated .npy header: it ends at byte %d of a %d-byte file",
			ErrFormat, offset, size)
	}
	buf := make([]byte, hlen)
	if err := readNpyBytes(r, buf); err != nil {
		return npyHeader{}, err
	}
	h, err := parseNpyHeader(buf)
	if err != nil {
		return npyHeader{}, err
	}
	h.dataOffset = offset
	return h, nil
}

func readNpyBytes(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated .npy header", ErrFormat)
	}
	if err != nil {
		return fmt.Errorf("reading .npy header: %w", err)
	}
	return nil
}

// parseNpyHeader checks the header dict, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
func parseNpyHeader(b []byte) (npyHeader, error) {
	p := pyParser{s: b}
	d, err := p.dict()
	if err != nil {
		return npyHeader{}, err
	}
	descr, ok1 := d["descr"]
	order, ok2 := d["fortran_order"]
	shapeVal, ok3 := d["shape"]
	if !ok1 || !ok2 || !ok3 || len(d) != 3 {
		return npyHeader{}, fmt.Errorf("%w: .npy header keys are %s, want descr, fortran_order and shape",
			ErrFormat, clip.Value(fmt.Sprintf("%q", slices.Sorted(maps.Keys(d)))))
	}
	dt, ok := npyDtype(descr)
	if !ok {
		return npyHeader{}, fmt.Errorf("%w %s: want float32, float16 or float64 in '<' or '>' byte order", ErrDtype, descr.raw)
	}
	if order.kind != pyBool {
		return npyHeader{}, fmt.Errorf("%w: .npy fortran_order %s is not True or False", ErrFormat, order.raw)
	}
	shape, err := npyShape(shapeVal)
	if err != nil {
		return npyHeader{}, err
	}
	return npyHeader{dt: dt, fortran: order.b, shape: shape}, nil
}

// npyShape checks the shape tuple; elemCount checks its size.
func npyShape(v pyValue) ([]int, error) {
	if v.kind != pyTuple {
		return nil, fmt.Errorf("%w: .npy shape %s is not a tuple", ErrFormat, v.raw)
	}
	if len(v.items) > npy.MaxDims {
		return nil, fmt.Errorf("%w: .npy shape has %d dimensions, more than %d", ErrFormat, len(v.items), npy.MaxDims)
	}
	shape := make([]int, len(v.items))
	for i, it := range v.items {
		if it.kind != pyInt {
			return nil, fmt.Errorf("%w: .npy shape %s: %s is not an integer", ErrFormat, v.raw, it.raw)
		}
		d, err := strconv.Atoi(it.text)
		if err != nil { // the parser checked the syntax, so the value is out of range
			return nil, fmt.Errorf("%w: .npy shape %s: dimension %s overflows int", ErrTooLarge, v.raw, it.raw)
		}
		if d < 0 {
			return nil, fmt.Errorf("%w: .npy shape %s: negative dimension", ErrFormat, v.raw)
		}
		shape[i] = d
	}
	return shape, nil
}

// npyDtype accepts only '<' and '>': '=' (native order) would make the
// meaning of a file depend on the machine that wrote it.
func npyDtype(v pyValue) (dtype, bool) {
	if v.kind != pyStr || len(v.text) != 3 {
		return dtype{}, false
	}
	dt := dtype{name: v.text}
	switch v.text[0] {
	case '<':
		dt.order = binary.LittleEndian
	case '>':
		dt.order = binary.BigEndian
	default:
		return dtype{}, false
	}
	switch v.text[1:] {
	case "f2":
		dt.kind, dt.size = Float16, 2
	case "f4":
		dt.kind, dt.size = Float32, 4
	case "f8":
		dt.kind, dt.size = Float64, 8
	default:
		return dtype{}, false
	}
	return dt, true
}
