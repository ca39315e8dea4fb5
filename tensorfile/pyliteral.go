package tensorfile

import (
	"fmt"
	"strings"

	"github.com/chanprune/chanprune/internal/clip"
)

// A .npy header is a Python dict literal. pyParser handles the subset that
// numpy writes: strings, integers, True/False/None, tuples and lists.

// maxPyDepth bounds the nesting of tuples and lists in a header.
const maxPyDepth = 32

type pyKind int

const (
	pyStr pyKind = iota
	pyInt
	pyBool
	pyNone
	pyTuple
	pyList
)

type pyValue struct {
	kind  pyKind
	text  string // contents of a string, or the digits of an integer
	b     bool
	items []pyValue
	raw   string // the source text, for error messages
}

type pyParser struct {
	s     []byte
	i     int
	depth int
}

func (p *pyParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: .npy header byte %d: %s", ErrFormat, p.i, fmt.Sprintf(format, args...))
}

func (p *pyParser) skipSpace() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

// consume skips c if it is next.
func (p *pyParser) consume(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// dict parses the whole header: one dict with string keys, then only
// whitespace (numpy pads the header with spaces and a newline).
func (p *pyParser) dict() (map[string]pyValue, error) {
	p.skipSpace()
	if !p.consume('{') {
		return nil, p.errorf("header is not a dict")
	}
	d := make(map[string]pyValue)
	for {
		p.skipSpace()
		if p.consume('}') {
			break
		}
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		if k.kind != pyStr {
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
		return nil, p.errorf("unexpected %q after the dict", clip.Value(string(p.s[p.i:])))
	}
	return d, nil
}

func (p *pyParser) value() (pyValue, error) {
	p.skipSpace()
	if p.i == len(p.s) {
		return pyValue{}, p.errorf("unexpected end of header")
	}
	start := p.i
	var v pyValue
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
		return pyValue{}, err
	}
	v.raw = string(p.s[start:p.i])
	return v, nil
}

func (p *pyParser) str() (pyValue, error) {
	quote := p.s[p.i]
	p.i++
	var b []byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == quote:
			return pyValue{kind: pyStr, text: string(b)}, nil
		case c == '\\' && p.i < len(p.s):
			// Escapes can only occur in field names of structured dtypes,
			// which are refused anyway; keep the escaped byte as it is.
			b = append(b, p.s[p.i])
			p.i++
		case c == '\n':
			return pyValue{}, p.errorf("newline in string")
		default:
			b = append(b, c)
		}
	}
	return pyValue{}, p.errorf("unterminated string")
}

// integer parses a decimal integer with an optional sign and an optional
// 'L' suffix, which Python 2 numpy wrote for long dimensions.
func (p *pyParser) integer() (pyValue, error) {
	start := p.i
	p.i++ // sign or first digit
	for p.i < len(p.s) && (isAlpha(p.s[p.i]) || isDigit(p.s[p.i]) || p.s[p.i] == '.' || p.s[p.i] == '_') {
		p.i++
	}
	tok := string(p.s[start:p.i])
	digits := strings.TrimSuffix(tok, "L")
	body := strings.TrimLeft(digits, "+-")
	if body == "" || len(digits)-len(body) > 1 || strings.TrimLeft(body, "0123456789") != "" {
		return pyValue{}, p.errorf("invalid integer %q", clip.Value(tok))
	}
	return pyValue{kind: pyInt, text: digits}, nil
}

func (p *pyParser) name() (pyValue, error) {
	start := p.i
	for p.i < len(p.s) && (isAlpha(p.s[p.i]) || isDigit(p.s[p.i]) || p.s[p.i] == '_') {
		p.i++
	}
	switch tok := string(p.s[start:p.i]); tok {
	case "True":
		return pyValue{kind: pyBool, b: true}, nil
	case "False":
		return pyValue{kind: pyBool}, nil
	case "None":
		return pyValue{kind: pyNone}, nil
	default:
		return pyValue{}, p.errorf("unknown name %q", clip.Value(tok))
	}
}

// seq parses a tuple or list. As in Python, "(x)" without a comma is x
// itself, not a tuple.
func (p *pyParser) seq() (pyValue, error) {
	open := p.s[p.i]
	v, end := pyValue{kind: pyTuple}, byte(')')
	if open == '[' {
		v, end = pyValue{kind: pyList}, ']'
	}
	p.depth++
	if p.depth > maxPyDepth {
		return pyValue{}, p.errorf("nesting deeper than %d", maxPyDepth)
	}
	defer func() { p.depth-- }()
	p.i++
	comma := false // whether the last item was followed by a comma
	for {
		p.skipSpace()
		if p.consume(end) {
			break
		}
		if len(v.items) > 0 && !comma {
			return pyValue{}, p.errorf("want ',' or %q", end)
		}
		item, err := p.value()
		if err != nil {
			return pyValue{}, err
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

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
