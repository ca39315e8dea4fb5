package tensorfile

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/chanprune/chanprune/internal/clip"
	"github.com/chanprune/chanprune/internal/npy"
)

// npyFile is a .npy file: one array, no keys.
type npyFile struct {
	r    io.ReaderAt
	size int64
	closer
}

func openNpy(r io.ReaderAt, size int64, c io.Closer) (*npyFile, error) {
	return &npyFile{r, size, closer{c}}, nil
}

func (f *npyFile) keys() []string               { return nil }
func (f *npyFile) batchKeys() ([]string, error) { return []string{""}, nil }

func (f *npyFile) tensor(key string) (tensor, error) {
	if key != "" {
		return tensor{}, fmt.Errorf("%w %q: a .npy file holds one array and takes no #KEY", ErrKey, clip.Value(key))
	}
	return npyTensor(f.r, f.size, true)
}

// npyTensor reads the header of the .npy data of n bytes at r and returns
// its array, checking that the data fills the rest exactly.
func npyTensor(r io.ReaderAt, n int64, sized bool) (tensor, error) {
	h, err := npy.ReadHeader(io.NewSectionReader(r, 0, n))
	if err != nil {
		return tensor{}, err
	}
	// ReadHeader accepts only <f2, <f4, <f8 and their big-endian twins.
	dt := dtype{name: h.Dtype, size: int(h.Dtype[2] - '0'), order: binary.LittleEndian}
	if h.Dtype[0] == '>' {
		dt.order = binary.BigEndian
	}
	switch dt.size {
	case 2:
		dt.kind = f16
	case 4:
		dt.kind = f32
	case 8:
		dt.kind = f64
	}
	count, err := elemCount(h.Shape)
	if err != nil {
		return tensor{}, err
	}
	switch need, have := int64(count)*int64(dt.size), n-h.DataOffset; {
	case need > have:
		return tensor{}, fmt.Errorf("%w: shape %v of %s needs %d data bytes, have %d", npy.ErrTruncated, h.Shape, h.Dtype, need, have)
	case need < have:
		return tensor{}, fmt.Errorf("%w: %d trailing bytes after the data", npy.ErrFormat, have-need)
	}
	strides := cStrides(h.Shape)
	if h.FortranOrder {
		strides = fortranStrides(h.Shape)
	}
	return newTensor(r, h.DataOffset, int64(count), sized, dt, h.Shape, strides, 0)
}
