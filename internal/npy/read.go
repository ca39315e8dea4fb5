package npy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

const (
	magic        = "\x93NUMPY"
	maxHeaderLen = 1 << 20
	chunkBytes   = 64 << 10
	// maxElems keeps n*8 within int (and int64), so neither the data size on
	// disk nor the size of the []float32 result can overflow.
	maxElems = math.MaxInt / 8
	// maxDims is numpy's own limit on the number of dimensions.
	maxDims = 64
	// maxDepth bounds the nesting of tuples and lists in the header dict.
	maxDepth = 32
)

// Read reads a .npy file from r, which must hold exactly size bytes (for a
// file, its size). The data length the header implies is checked against
// size before anything is allocated for it, so size must be truthful.
func Read(r io.Reader, size int64) (*Array, error) { return ReadInto(r, size, nil) }

// ReadInto is Read decoding into buf when it has the capacity, so that a
// loop over many files of one size reuses one buffer (Fortran-order data
// still gets a new one).
func ReadInto(r io.Reader, size int64, buf []float32) (*Array, error) {
	if size < 0 {
		return nil, fmt.Errorf("npy: negative size %d", size)
	}
	h, err := readHeader(r, size)
	if err != nil {
		return nil, err
	}
	avail := size - h.DataOffset // readHeader made sure this is not negative
	need := int64(h.n) * int64(h.dtype.size)
	switch {
	case need > avail:
		return nil, fmt.Errorf("%w: shape %v of %s needs %d data bytes, have %d",
			ErrTruncated, h.Shape, h.Dtype, need, avail)
	case need < avail:
		return nil, fmt.Errorf("%w: %d trailing bytes after the data", ErrFormat, avail-need)
	}
	data := buf[:0]
	if cap(data) < h.n {
		data = make([]float32, h.n)
	}
	data = data[:h.n]
	if err := readData(r, data, h.dtype); err != nil {
		return nil, err
	}
	if h.FortranOrder && len(h.Shape) > 1 {
		data = fortranToC(data, h.Shape)
	}
	return &Array{Shape: h.Shape, Data: data}, nil
}

// ReadFile reads the .npy file at path. Its errors leave the path to the
// caller, except those of the operating system, which carry it already.
func ReadFile(path string) (*Array, error) { return ReadFileInto(path, nil) }

// ReadFileInto is ReadFile decoding into buf when it has the capacity.
func ReadFileInto(path string, buf []float32) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return ReadInto(f, st.Size(), buf)
}

// ReadHeader reads and checks the header of a .npy file, leaving r at the
// first data byte. It fails as Read would for an unsupported dtype or a
// shape that is too large.
func ReadHeader(r io.Reader) (Header, error) {
	h, err := readHeader(r, -1)
	return h.Header, err
}

// fileHeader is a checked Header with its decoded dtype and element count.
type fileHeader struct {
	Header
	dtype dtype
	n     int
}

// readHeader reads the header; size is the file size, or -1 if unknown.
func readHeader(r io.Reader, size int64) (fileHeader, error) {
	// Magic, version and, for version 1.0, the 2-byte header length;
	// versions 2.0 and 3.0 use a 4-byte length.
	pre := make([]byte, 12)
	if err := readHeaderBytes(r, pre[:10]); err != nil {
		return fileHeader{}, err
	}
	if string(pre[:6]) != magic {
		return fileHeader{}, fmt.Errorf("%w: bad magic %q", ErrFormat, pre[:6])
	}
	major, minor := pre[6], pre[7]
	var hlen, offset int64
	switch {
	case major == 1 && minor == 0:
		hlen, offset = int64(binary.LittleEndian.Uint16(pre[8:])), 10
	case (major == 2 || major == 3) && minor == 0:
		if err := readHeaderBytes(r, pre[10:12]); err != nil {
			return fileHeader{}, err
		}
		hlen, offset = int64(binary.LittleEndian.Uint32(pre[8:])), 12
	default:
		return fileHeader{}, fmt.Errorf("%w: unsupported version %d.%d", ErrFormat, major, minor)
	}
	if hlen > maxHeaderLen {
		return fileHeader{}, fmt.Errorf("%w: header length %d exceeds %d", ErrFormat, hlen, maxHeaderLen)
	}
	offset += hlen
	if size >= 0 && offset > size {
		return fileHeader{}, fmt.Errorf("%w: truncated header: it ends at byte %d of a %d-byte file",
			ErrFormat, offset, size)
	}
	buf := make([]byte, hlen)
	if err := readHeaderBytes(r, buf); err != nil {
		return fileHeader{}, err
	}
	h, err := parseHeader(buf)
	if err != nil {
		return fileHeader{}, err
	}
	h.DataOffset = offset
	return h, nil
}

func readHeaderBytes(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated header", ErrFormat)
	}
	if err != nil {
		return fmt.Errorf("npy: reading header: %w", err)
	}
	return nil
}

// parseHeader checks the header dict, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
func parseHeader(b []byte) (fileHeader, error) {
	p := parser{s: b}
	d, err := p.dict()
	if err != nil {
		return fileHeader{}, err
	}
	descr, ok1 := d["descr"]
	order, ok2 := d["fortran_order"]
	shapeVal, ok3 := d["shape"]
	if !ok1 || !ok2 || !ok3 || len(d) != 3 {
		return fileHeader{}, fmt.Errorf("%w: header keys are %q, want descr, fortran_order and shape",
			ErrFormat, slices.Sorted(maps.Keys(d)))
	}
	dt, ok := parseDtype(descr)
	if !ok {
		return fileHeader{}, fmt.Errorf("%w: %s", ErrDtype, descr.raw)
	}
	if order.kind != kindBool {
		return fileHeader{}, fmt.Errorf("%w: fortran_order %s is not True or False", ErrFormat, order.raw)
	}
	shape, err := parseShape(shapeVal)
	if err != nil {
		return fileHeader{}, err
	}
	n, err := elemCount(shape)
	if err != nil {
		return fileHeader{}, err
	}
	return fileHeader{
		Header: Header{Dtype: descr.text, FortranOrder: order.b, Shape: shape},
		dtype:  dt,
		n:      n,
	}, nil
}

func parseShape(v value) ([]int, error) {
	if v.kind != kindTuple {
		return nil, fmt.Errorf("%w: shape %s is not a tuple", ErrFormat, v.raw)
	}
	if len(v.items) > maxDims {
		return nil, fmt.Errorf("%w: shape has %d dimensions, more than %d", ErrFormat, len(v.items), maxDims)
	}
	shape := make([]int, len(v.items))
	for i, it := range v.items {
		if it.kind != kindInt {
			return nil, fmt.Errorf("%w: shape %s: %s is not an integer", ErrFormat, v.raw, it.raw)
		}
		d, err := strconv.Atoi(it.text)
		if err != nil { // the parser checked the syntax, so the value is out of range
			return nil, fmt.Errorf("%w: shape %s: dimension %s overflows int", ErrTooLarge, v.raw, it.raw)
		}
		if d < 0 {
			return nil, fmt.Errorf("%w: shape %s: negative dimension", ErrFormat, v.raw)
		}
		shape[i] = d
	}
	return shape, nil
}

// elemCount returns the product of the non-negative dims in shape, failing
// with ErrTooLarge above maxElems.
func elemCount(shape []int) (int, error) {
	for _, d := range shape {
		if d == 0 {
			return 0, nil
		}
	}
	n := 1
	for _, d := range shape {
		if n > maxElems/d {
			return 0, fmt.Errorf("%w: shape %v has more than %d elements", ErrTooLarge, shape, maxElems)
		}
		n *= d
	}
	return n, nil
}

// readData fills dst from r in chunks of at most chunkBytes.
func readData(r io.Reader, dst []float32, dt dtype) error {
	buf := make([]byte, min(chunkBytes, len(dst)*dt.size))
	for len(dst) > 0 {
		m := min(len(dst), len(buf)/dt.size)
		b := buf[:m*dt.size]
		_, err := io.ReadFull(r, b)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: %w", ErrTruncated, err)
		}
		if err != nil {
			return fmt.Errorf("npy: reading data: %w", err)
		}
		dt.decode(dst[:m], b)
		dst = dst[m:]
	}
	return nil
}

// dtype is a supported on-disk element type: an IEEE float of size bytes.
type dtype struct {
	size  int
	order binary.ByteOrder
}

// parseDtype accepts only '<' and '>': '=' (native order) would make the
// meaning of a file depend on the machine that wrote it.
func parseDtype(v value) (dtype, bool) {
	if v.kind != kindStr || len(v.text) != 3 {
		return dtype{}, false
	}
	var dt dtype
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
		dt.size = 2
	case "f4":
		dt.size = 4
	case "f8":
		dt.size = 8
	default:
		return dtype{}, false
	}
	return dt, true
}

// decode converts len(dst) elements from src to float32.
func (dt dtype) decode(dst []float32, src []byte) {
	switch dt.size {
	case 2:
		for i := range dst {
			dst[i] = Float16to32(dt.order.Uint16(src[2*i:]))
		}
	case 4:
		for i := range dst {
			dst[i] = math.Float32frombits(dt.order.Uint32(src[4*i:]))
		}
	case 8:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(dt.order.Uint64(src[8*i:])))
		}
	}
}

// fortranToC returns src, stored with the first index varying fastest,
// rearranged so that the last index varies fastest.
func fortranToC(src []float32, shape []int) []float32 {
	dst := make([]float32, len(src))
	if len(src) == 0 {
		return dst
	}
	strides := make([]int, len(shape)) // the first axis is contiguous
	s := 1
	for k := range shape {
		strides[k] = s
		s *= shape[k]
	}
	Gather(dst, src, shape, strides)
	return dst
}

// Gather copies the elements of src, laid out with the given strides (in
// elements, one per axis of shape), into dst in C order: a Fortran-order
// array, a transposed or offset torch tensor.
func Gather(dst, src []float32, shape, strides []int) {
	nd := len(shape)
	if nd == 0 {
		dst[0] = src[0]
		return
	}
	inner, step := shape[nd-1], strides[nd-1]
	idx := make([]int, nd-1)
	off := 0 // offset in src of idx
	for o := 0; o < len(dst); o += inner {
		for j := range inner {
			dst[o+j] = src[off+j*step]
		}
		for k := nd - 2; k >= 0; k-- { // advance idx, carrying into earlier axes
			idx[k]++
			off += strides[k]
			if idx[k] < shape[k] {
				break
			}
			off -= idx[k] * strides[k]
			idx[k] = 0
		}
	}
}

// The header is a Python dict literal. parser handles the subset that
// numpy writes: strings, integers, True/False/None, tuples and lists.

type kind int

const (
	kindStr kind = iota
	kindInt
	kindBool
	kindNone
	kindTuple
	kindList
)

type value struct {
	kind  kind
	text  string // contents of a string, or the digits of an integer
	b     bool
	items []value
	raw   string // the source text, for error messages
}

type parser struct {
	s     []byte
	i     int
	depth int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: header byte %d: %s", ErrFormat, p.i, fmt.Sprintf(format, args...))
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

// consume skips c if it is next.
func (p *parser) consume(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// dict parses the whole header: one dict with string keys, then only
// whitespace (numpy pads the header with spaces and a newline).
func (p *parser) dict() (map[string]value, error) {
	p.skipSpace()
	if !p.consume('{') {
		return nil, p.errorf("header is not a dict")
	}
	d := make(map[string]value)
	for {
		p.skipSpace()
		if p.consume('}') {
			break
		}
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		if k.kind != kindStr {
			return nil, p.errorf("dict key %s is not a string", k.raw)
		}
		p.skipSpace()
		if !p.consume(':') {
			return nil, p.errorf("want ':' after key %s", k.raw)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if _, dup := d[k.text]; dup {
			return nil, p.errorf("duplicate key %s", k.raw)
		}
		d[k.text] = v
		p.skipSpace()
		if p.consume('}') {
			break
		}
		if !p.consume(',') {
			return nil, p.errorf("want ',' or '}' in dict")
		}
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return nil, p.errorf("unexpected %q after the dict", p.s[p.i:])
	}
	return d, nil
}

func (p *parser) value() (value, error) {
	p.skipSpace()
	if p.i == len(p.s) {
		return value{}, p.errorf("unexpected end of header")
	}
	start := p.i
	var v value
	var err error
	switch c := p.s[p.i]; {
	case c == '\'' || c == '"':
		v, err = p.str()
	case c == '(' || c == '[':
		v, err = p.seq()
	case c == '-' || c == '+' || isDigit(c):
		v, err = p.integer()
	case isAlpha(c):
		v, err = p.name()
	default:
		err = p.errorf("unexpected %q", c)
	}
	if err != nil {
		return value{}, err
	}
	v.raw = string(p.s[start:p.i])
	return v, nil
}

func (p *parser) str() (value, error) {
	quote := p.s[p.i]
	p.i++
	var b []byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == quote:
			return value{kind: kindStr, text: string(b)}, nil
		case c == '\\' && p.i < len(p.s):
			// Escapes can only occur in field names of structured dtypes,
			// which are refused anyway; keep the escaped byte as it is.
			b = append(b, p.s[p.i])
			p.i++
		case c == '\n':
			return value{}, p.errorf("newline in string")
		default:
			b = append(b, c)
		}
	}
	return value{}, p.errorf("unterminated string")
}

// integer parses a decimal integer with an optional sign and an optional
// 'L' suffix, which Python 2 numpy wrote for long dimensions.
func (p *parser) integer() (value, error) {
	start := p.i
	p.i++ // sign or first digit
	for p.i < len(p.s) && (isAlpha(p.s[p.i]) || isDigit(p.s[p.i]) || p.s[p.i] == '.' || p.s[p.i] == '_') {
		p.i++
	}
	tok := string(p.s[start:p.i])
	digits := strings.TrimSuffix(tok, "L")
	body := strings.TrimLeft(digits, "+-")
	if body == "" || len(digits)-len(body) > 1 || strings.TrimLeft(body, "0123456789") != "" {
		return value{}, p.errorf("invalid integer %q", tok)
	}
	return value{kind: kindInt, text: digits}, nil
}

func (p *parser) name() (value, error) {
	start := p.i
	for p.i < len(p.s) && (isAlpha(p.s[p.i]) || isDigit(p.s[p.i]) || p.s[p.i] == '_') {
		p.i++
	}
	switch tok := string(p.s[start:p.i]); tok {
	case "True":
		return value{kind: kindBool, b: true}, nil
	case "False":
		return value{kind: kindBool}, nil
	case "None":
		return value{kind: kindNone}, nil
	default:
		return value{}, p.errorf("unknown name %q", tok)
	}
}

// seq parses a tuple or list. As in Python, "(x)" without a comma is x
// itself, not a tuple.
func (p *parser) seq() (value, error) {
	open := p.s[p.i]
	v, closer := value{kind: kindTuple}, byte(')')
	if open == '[' {
		v, closer = value{kind: kindList}, ']'
	}
	p.depth++
	if p.depth > maxDepth {
		return value{}, p.errorf("nesting deeper than %d", maxDepth)
	}
	defer func() { p.depth-- }()
	p.i++
	comma := false // whether the last item was followed by a comma
	for {
		p.skipSpace()
		if p.consume(closer) {
			break
		}
		if len(v.items) > 0 && !comma {
			return value{}, p.errorf("want ',' or %q", closer)
		}
		item, err := p.value()
		if err != nil {
			return value{}, err
		}
		v.items = append(v.items, item)
		p.skipSpace()
		comma = p.consume(',')
	}
	if open == '(' && len(v.items) == 1 && !comma {
		return v.items[0], nil
	}
	return v, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
