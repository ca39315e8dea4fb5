package tensorfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/chanprune/chanprune/internal/npy"
)

// chunkBytes is how much data is read and decoded at a time.
const chunkBytes = 64 << 10

// chunks holds the buffers of chunkBytes that reads decode from, so that a
// loop over many batches allocates none.
var chunks = sync.Pool{New: func() any { return new([chunkBytes]byte) }}

// Dtype is the element type a tensor is stored in. Read widens the float
// dtypes to float32 exactly (float64 rounds), so an Array read from
// bfloat16 or float16 holds the stored values themselves, and its Dtype
// says which they were.
type Dtype uint8

// The dtypes the readers know; a tensor of any other is refused.
const (
	unsupported Dtype = iota
	Float16
	BFloat16
	Float32
	Float64
	Int64 // read with File.ReadInt64 only
)

// String returns the dtype's PyTorch name, such as "bfloat16".
func (d Dtype) String() string {
	switch d {
	case Float16:
		return "float16"
	case BFloat16:
		return "bfloat16"
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Int64:
		return "int64"
	}
	return "unsupported"
}

// dtype is a stored element type.
type dtype struct {
	name  string // as the file spells it, for messages
	kind  Dtype
	size  int // bytes per element; 0 if unknown
	order binary.ByteOrder
}

// check refuses a dtype the readers do not know.
func (dt dtype) check() error {
	if dt.kind == unsupported {
		return dt.floatError()
	}
	return nil
}

// checkFloat refuses a dtype that does not convert to float32.
func (dt dtype) checkFloat() error {
	if dt.kind == unsupported || dt.kind == Int64 {
		return dt.floatError()
	}
	return nil
}

func (dt dtype) floatError() error {
	return fmt.Errorf("%w %s: want float32, float16, bfloat16 or float64", ErrDtype, dt.name)
}

// decode converts len(dst) elements from src to float32.
func (dt dtype) decode(dst []float32, src []byte) {
	switch dt.kind {
	case Float16:
		for i := range dst {
			dst[i] = npy.Float16to32(dt.order.Uint16(src[2*i:]))
		}
	case BFloat16: // the upper half of a float32
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(dt.order.Uint16(src[2*i:])) << 16)
		}
	case Float32:
		for i := range dst {
			dst[i] = math.Float32frombits(dt.order.Uint32(src[4*i:]))
		}
	case Float64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(dt.order.Uint64(src[8*i:])))
		}
	}
}

// readFloats decodes n elements of dt from r, into buf's memory when it has
// the capacity. If sized, r's length was checked against the bytes the file
// really has and the result is allocated at once; otherwise (a compressed
// zip member, whose declared size may lie) it grows as data arrives,
// capped at n.
func readFloats(r io.Reader, dt dtype, n int, buf []float32, sized bool) ([]float32, error) {
	dst := buf[:0]
	if cap(dst) < n && sized {
		dst = make([]float32, 0, n)
	}
	pooled := chunks.Get().(*[chunkBytes]byte)
	defer chunks.Put(pooled)
	chunk := pooled[:]
	for len(dst) < n {
		m := min(n-len(dst), len(chunk)/dt.size)
		if _, err := io.ReadFull(r, chunk[:m*dt.size]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: %d of %d elements", ErrTruncated, len(dst), n)
			}
			return nil, err
		}
		if cap(dst)-len(dst) < m {
			grown := make([]float32, len(dst), min(n, max(2*cap(dst), len(dst)+m)))
			copy(grown, dst)
			dst = grown
		}
		dt.decode(dst[len(dst):len(dst)+m], chunk)
		dst = dst[:len(dst)+m]
	}
	return dst, nil
}
