package tensorfile

import (
	"fmt"
	"io"

	"github.com/chanprune/chanprune/internal/clip"
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
	h, err := readNpyHeader(io.NewSectionReader(r, 0, n), n)
	if err != nil {
		return tensor{}, err
	}
	count, err := elemCount(h.shape)
	if err != nil {
		return tensor{}, err
	}
	switch need, have := int64(count)*int64(h.dt.size), n-h.dataOffset; {
	case need > have:
		return tensor{}, fmt.Errorf("%w: shape %v of %s needs %d data bytes, have %d", ErrTruncated, h.shape, h.dt.name, need, have)
	case need < have:
		return tensor{}, fmt.Errorf("%w: %d trailing bytes after the data", ErrFormat, have-need)
	}
	strides := cStrides(h.shape)
	if h.fortran {
		strides = fortranStrides(h.shape)
	}
	return newTensor(r, h.dataOffset, int64(count), sized, h.dt, h.shape, strides, 0)
}
