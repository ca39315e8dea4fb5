package tensorfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
)

// A File is an open tensor file, for reading several of its tensors
// from the one file that was opened, even if the path is replaced
// meanwhile. It is for one goroutine at a time.
type File struct {
	f file
}

// Open opens the tensor file at path (any format Read reads).
func Open(path string) (*File, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	return &File{f}, nil
}

// Keys lists the file's tensors, in its order (see Keys).
func (f *File) Keys() []string { return f.f.keys() }

// Read reads the tensor named key ("" for the file's only tensor) as
// float32, as Read does.
func (f *File) Read(key string) (*Array, error) {
	t, err := f.f.tensor(key)
	if err != nil {
		return nil, err
	}
	return t.read(nil)
}

// ReadInt64 reads the int64 tensor named key of a .safetensors file: its
// shape and its elements in C order. A tensor of another dtype is refused
// (ErrDtype).
func (f *File) ReadInt64(key string) ([]int, []int64, error) {
	t, err := f.f.tensor(key)
	if err != nil {
		return nil, nil, err
	}
	if t.dt.kind != Int64 {
		return nil, nil, fmt.Errorf("%w %s: want int64", ErrDtype, t.dt.name)
	}
	n, _ := elemCount(t.shape) // newTensor checked it
	data, err := readInt64s(io.NewSectionReader(t.src, t.base+t.offset*8, int64(n)*8), t.dt.order, n)
	if err != nil {
		return nil, nil, err
	}
	return append([]int(nil), t.shape...), data, nil
}

// readInt64s reads n int64 values from r, whose length was checked
// against the file (only .safetensors tensors, always contiguous and
// sized, are int64).
func readInt64s(r io.Reader, order binary.ByteOrder, n int) ([]int64, error) {
	dst := make([]int64, 0, n)
	pooled := chunks.Get().(*[chunkBytes]byte)
	defer chunks.Put(pooled)
	for len(dst) < n {
		m := min(n-len(dst), chunkBytes/8)
		if _, err := io.ReadFull(r, pooled[:8*m]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: %d of %d elements", ErrTruncated, len(dst), n)
			}
			return nil, err
		}
		for i := range m {
			dst = append(dst, int64(order.Uint64(pooled[8*i:])))
		}
	}
	return dst, nil
}

// Metadata returns a copy of a .safetensors file's "__metadata__" (nil
// for other formats, or when the header has none).
func (f *File) Metadata() map[string]string {
	if m, ok := f.f.(interface{ metadata() map[string]string }); ok {
		return maps.Clone(m.metadata())
	}
	return nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }
