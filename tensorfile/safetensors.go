package tensorfile

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/chanprune/chanprune/internal/clip"
	"github.com/chanprune/chanprune/internal/npy"
)

// maxSafetensorsHeader is the safetensors library's own limit.
const maxSafetensorsHeader = 100 << 20

// stDtypes are the safetensors dtypes that convert to float32, and the
// sizes of some others, whose offsets are checked all the same; a tensor
// of any other dtype is refused when read.
var stDtypes = map[string]dtype{
	"F64": {kind: Float64, size: 8}, "F32": {kind: Float32, size: 4}, "F16": {kind: Float16, size: 2}, "BF16": {kind: BFloat16, size: 2},
	"I64": {kind: Int64, size: 8}, "U64": {size: 8}, "I32": {size: 4}, "U32": {size: 4}, "I16": {size: 2}, "U16": {size: 2},
	"I8": {size: 1}, "U8": {size: 1}, "BOOL": {size: 1}, "F8_E4M3": {size: 1}, "F8_E5M2": {size: 1},
}

// stEntry is one tensor of the JSON header.
type stEntry struct {
	Dtype   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets []uint64 `json:"data_offsets"` // [begin, end) from the start of the data
}

// safetensorsFile is a .safetensors file: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
// {…}}, then the data.
type safetensorsFile struct {
	r         io.ReaderAt
	dataStart int64
	entries   map[string]stEntry
	names     []string // natural order
	meta      map[string]string
	closer
}

func openSafetensors(r io.ReaderAt, size int64, c io.Closer) (*safetensorsFile, error) {
	var pre [8]byte
	if _, err := r.ReadAt(pre[:], 0); err != nil {
		return nil, fmt.Errorf("%w: safetensors: %v", ErrTruncated, err)
	}
	n := binary.LittleEndian.Uint64(pre[:])
	switch {
	case n > maxSafetensorsHeader:
		return nil, fmt.Errorf("%w: safetensors header of %d bytes, more than %d", ErrTooLarge, n, maxSafetensorsHeader)
	case int64(n) > size-8:
		return nil, fmt.Errorf("%w: safetensors header of %d bytes in a %d-byte file", ErrTruncated, n, size)
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return nil, fmt.Errorf("%w: safetensors header: %v", ErrTruncated, err)
	}
	if !utf8.Valid(hdr) { // encoding/json would turn its bytes into U+FFFD
		return nil, fmt.Errorf("%w: safetensors header is not UTF-8", ErrFormat)
	}
	raw, err := jsonObject(hdr)
	if err != nil {
		return nil, fmt.Errorf("%w: safetensors header: %v", ErrFormat, err)
	}
	f := &safetensorsFile{r: r, dataStart: 8 + int64(n), entries: map[string]stEntry{}, closer: closer{c}}
	for name, v := range raw {
		if name == "__metadata__" {
			// The format says string to string; a header with other
			// values is read all the same, without its metadata.
			if json.Unmarshal(v, &f.meta) != nil {
				f.meta = nil
			}
			continue
		}
		e, err := decodeEntry(v)
		if err != nil {
			return nil, fmt.Errorf("%w: safetensors tensor %q: %v", ErrFormat, clip.Value(name), err)
		}
		if err := checkEntry(e, size-f.dataStart); err != nil {
			return nil, fmt.Errorf("safetensors tensor %q: %w", clip.Value(name), err)
		}
		f.entries[name] = e
		f.names = append(f.names, name)
	}
	if err := f.checkLayout(size - f.dataStart); err != nil {
		return nil, err
	}
	slices.SortFunc(f.names, naturalCompare)
	return f, nil
}

// decodeEntry decodes a tensor's entry by its exact field names (the
// safetensors library ignores "DTYPE", where encoding/json would take it
// for "dtype"), refusing a field given twice.
func decodeEntry(v json.RawMessage) (stEntry, error) {
	var e stEntry
	fields, err := jsonObject(v)
	if err != nil {
		return e, err
	}
	for _, field := range []struct {
		name string
		dst  any
	}{{"dtype", &e.Dtype}, {"shape", &e.Shape}, {"data_offsets", &e.Offsets}} { // in order: one message for a file
		if f, ok := fields[field.name]; ok {
			if err := json.Unmarshal(f, field.dst); err != nil {
				return e, fmt.Errorf("%s: %v", field.name, err)
			}
		}
	}
	return e, nil
}

// checkEntry checks that the tensor's bytes lie in the data region and
// match its dtype and shape.
func checkEntry(e stEntry, dataLen int64) error {
	if e.Dtype == "" || e.Shape == nil || len(e.Offsets) != 2 {
		return fmt.Errorf("%w: want dtype, shape and data_offsets [begin, end]", ErrFormat)
	}
	if len(e.Shape) > npy.MaxDims {
		return fmt.Errorf("%w: shape has %d dimensions, more than %d", ErrFormat, len(e.Shape), npy.MaxDims)
	}
	begin, end := e.Offsets[0], e.Offsets[1]
	if begin > end || end > uint64(dataLen) {
		return fmt.Errorf("%w: data_offsets [%d, %d] outside the %d data bytes", ErrFormat, begin, end, dataLen)
	}
	n, err := elemCount(e.Shape)
	if err != nil {
		return err
	}
	if dt, ok := stDtypes[e.Dtype]; ok && uint64(n)*uint64(dt.size) != end-begin {
		return fmt.Errorf("%w: shape %v of %s needs %d bytes, data_offsets [%d, %d] give %d",
			ErrFormat, e.Shape, e.Dtype, uint64(n)*uint64(dt.size), begin, end, end-begin)
	}
	return nil
}

// checkLayout refuses tensors whose bytes overlap or leave bytes of the
// data unindexed: the format allows no holes (they would let a file be
// something else as well), and the safetensors library refuses them.
func (f *safetensorsFile) checkLayout(dataLen int64) error {
	names := slices.Clone(f.names)
	off := func(name string) (uint64, uint64) { e := f.entries[name]; return e.Offsets[0], e.Offsets[1] }
	slices.SortFunc(names, func(a, b string) int {
		ab, ae := off(a)
		bb, be := off(b)
		return cmp.Or(cmp.Compare(ab, bb), cmp.Compare(ae, be), cmp.Compare(a, b))
	})
	var prev string
	var filled uint64 // the data bytes before it are indexed
	for _, name := range names {
		begin, end := off(name)
		switch {
		case begin == end:
			continue
		case begin < filled:
			return fmt.Errorf("%w: safetensors tensors %q and %q overlap", ErrFormat, clip.Value(prev), clip.Value(name))
		case begin > filled:
			return fmt.Errorf("%w: safetensors data bytes [%d, %d) belong to no tensor", ErrFormat, filled, begin)
		}
		prev, filled = name, end
	}
	if filled != uint64(dataLen) {
		return fmt.Errorf("%w: safetensors data bytes [%d, %d) belong to no tensor", ErrFormat, filled, dataLen)
	}
	return nil
}

func (f *safetensorsFile) keys() []string               { return f.names }
func (f *safetensorsFile) metadata() map[string]string  { return f.meta }
func (f *safetensorsFile) batchKeys() ([]string, error) { return f.names, nil }

func (f *safetensorsFile) tensor(key string) (tensor, error) {
	key, err := onlyKey(f, key)
	if err != nil {
		return tensor{}, err
	}
	e, ok := f.entries[key]
	if !ok {
		return tensor{}, missingKey(f, key)
	}
	dt := stDtypes[e.Dtype]
	dt.name, dt.order = e.Dtype, binary.LittleEndian
	n, _ := elemCount(e.Shape) // checkEntry checked it
	return newTensor(f.r, f.dataStart+int64(e.Offsets[0]), int64(n), true, dt, e.Shape, cStrides(e.Shape), 0)
}
