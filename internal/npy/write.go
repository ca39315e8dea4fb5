package npy

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/chanprune/chanprune/internal/atomicfile"
)

// chunkBytes is how much data Write encodes at a time.
const chunkBytes = 64 << 10

// Write writes data, of the given shape in C order, as a version 1.0 .npy
// file with dtype '<f4'. It fails if len(data) does not match shape.
func Write(w io.Writer, shape []int, data []float32) error {
	if len(shape) > MaxDims {
		return fmt.Errorf("npy: shape has %d dimensions, more than %d", len(shape), MaxDims)
	}
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("npy: shape %v has a negative dimension", shape)
		}
	}
	n, ok := Count(shape)
	if !ok {
		return fmt.Errorf("npy: cannot write shape %v: too many elements", shape)
	}
	if n != len(data) {
		return fmt.Errorf("npy: shape %v needs %d elements, data has %d", shape, n, len(data))
	}
	if _, err := w.Write(header("<f4", shape)); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	buf := make([]byte, min(chunkBytes, 4*len(data)))
	for len(data) > 0 {
		m := min(len(data), len(buf)/4)
		for i, v := range data[:m] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if _, err := w.Write(buf[:4*m]); err != nil {
			return fmt.Errorf("npy: %w", err)
		}
		data = data[m:]
	}
	return nil
}

// header returns the magic, version and header of a version 1.0 file of
// dtype descr, laid out byte for byte as numpy.save does. With at most
// MaxDims dimensions the header length fits its 2 bytes.
func header(descr string, shape []int) []byte {
	var dict strings.Builder
	dict.WriteString("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (")
	for i, d := range shape {
		if i > 0 {
			dict.WriteString(", ")
		}
		dict.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		dict.WriteByte(',') // a 1-tuple needs its comma
	}
	dict.WriteString("), }")
	// numpy leaves room for shape[0] to grow to 21 digits in place, then
	// pads with spaces and a final newline so the data starts at a multiple
	// of 64 bytes (with at least one pad byte).
	spaces := 0
	if len(shape) > 0 {
		spaces = 21 - len(strconv.Itoa(shape[0]))
	}
	used := len(Magic) + 4 + dict.Len() + spaces + 1
	spaces += 64 - used%64
	hlen := dict.Len() + spaces + 1
	b := make([]byte, 0, len(Magic)+4+hlen)
	b = append(b, Magic...)
	b = append(b, 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(hlen))
	b = append(b, dict.String()...)
	b = append(b, strings.Repeat(" ", spaces)...)
	b = append(b, '\n')
	return b
}

// WriteFile writes data of the given shape to path with atomicfile.Write: through a temporary
// file renamed over path once complete, so an interrupted write never
// leaves a partial file at path.
func WriteFile(path string, shape []int, data []float32) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, shape, data) })
}

// WriteIndex writes idx as a 1-D '<i8' .npy array of channel indexes
// (what PyTorch's index_select takes) to w.
func WriteIndex(w io.Writer, idx []int) error {
	buf := header("<i8", []int{len(idx)})
	for _, v := range idx {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(int64(v)))
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}
