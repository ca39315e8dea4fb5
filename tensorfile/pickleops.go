package tensorfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	// maxPickleCost bounds the memory the unpickler may spend, as
	// estimated by checkPickle.
	maxPickleCost = 256 << 20
	// maxNumberLen bounds the text lines and the binary longs that
	// gopickle turns into numbers, in time quadratic in their length.
	maxNumberLen = 4 << 10
)

// checkPickle walks a pickle's opcodes without running them. gopickle
// allocates what a length argument says before reading the bytes, so
// every length must fit in the bytes that follow; numbers must be short;
// every GLOBAL and INST must pass global; and the unpickler's memory,
// estimated per opcode (a MARK starts a new stack of 16 slots), must stay
// under maxPickleCost.
// STACK_GLOBAL takes its names from the stack, and gopickle builds some
// classes (__builtin__.object, copy_reg._reconstructor) before it asks
// FindClass, so stackNames follows the strings pushed just before each
// STACK_GLOBAL and global checks them too; names it cannot follow are
// refused.
func checkPickle(p []byte, global func(module, name string) error) error {
	cost := int64(0)
	var names stackNames
	for i := 0; i < len(p); {
		op := p[i]
		at := i
		i++
		arg := 0 // bytes of argument after the opcode
		switch op {
		case '.': // STOP
			return nil
		case '(':
			cost += 320
		case '0', '1', '2', 'N', 'Q', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')', 'u',
			0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98:
		case 'K', 'h', 'q', 0x80, 0x82:
			arg = 1
		case 'M', 0x83:
			arg = 2
		case 'J', 'j', 'r', 0x84:
			arg = 4
		case 'G', 0x95: // BINFLOAT; FRAME, whose opcodes are walked like the others
			arg = 8
		case 'F', 'I', 'L', 'P', 'S', 'V', 'g', 'p':
			arg = lineLen(p[i:], 1)
		case 'c', 'i': // GLOBAL, INST: module and name on two lines
			arg = lineLen(p[i:], 2)
			if arg > 0 {
				module, name, _ := bytes.Cut(p[i:i+arg-1], []byte("\n"))
				if err := global(string(module), string(name)); err != nil {
					return err
				}
			}
		case 'U', 'C', 0x8c, 0x8a: // 1-byte length
			arg = counted(p[i:], 1)
		case 'T', 'B', 'X', 0x8b: // 4-byte length (T and LONG4: signed)
			arg = counted(p[i:], 4)
		case 0x8d, 0x8e, 0x96: // 8-byte length
			arg = counted(p[i:], 8)
		default:
			return fmt.Errorf("%w: pickle: unknown opcode %#x at byte %d", ErrFormat, op, at)
		}
		if arg < 0 || arg > len(p)-i {
			return fmt.Errorf("%w: pickle: opcode %#x at byte %d runs past the end", ErrFormat, op, at)
		}
		if arg > maxNumberLen && strings.IndexByte("FILPSVgpci\x8a\x8b", op) >= 0 {
			return fmt.Errorf("%w: pickle: opcode %#x at byte %d has a %d-byte argument", ErrTooLarge, op, at, arg)
		}
		if op == 0x95 && binary.LittleEndian.Uint64(p[i:]) > uint64(len(p)-i-8) {
			return fmt.Errorf("%w: pickle: frame at byte %d runs past the end", ErrFormat, at)
		}
		if op == 0x93 { // STACK_GLOBAL
			module, name, ok := names.pair()
			if !ok {
				return fmt.Errorf("%w: pickle: STACK_GLOBAL at byte %d takes names that are not strings pushed just before it",
					ErrForbidden, at)
			}
			if err := global(module, name); err != nil {
				return err
			}
		}
		if strings.IndexByte("ghj", op) >= 0 && !names.memoized(memoIndex(op, p[i:i+arg])) {
			// gopickle would push None, where Python refuses the pickle.
			return fmt.Errorf("%w: pickle: GET at byte %d of a memo index never set", ErrFormat, at)
		}
		names.step(op, p[i:i+arg])
		i += arg
		if cost += 128 + int64(arg); cost > maxPickleCost {
			return fmt.Errorf("%w: pickle needs more than %d bytes to unpickle", ErrTooLarge, maxPickleCost)
		}
	}
	return fmt.Errorf("%w: pickle: no STOP opcode", ErrFormat)
}

// lineLen returns the length of the first lines newline-terminated lines
// of p, or -1.
func lineLen(p []byte, lines int) int {
	n := 0
	for range lines {
		j := bytes.IndexByte(p[n:], '\n')
		if j < 0 {
			return -1
		}
		n += j + 1
	}
	return n
}

// counted returns the length of a size-byte little-endian count and the
// bytes it counts, or -1 if it does not fit an int.
func counted(p []byte, size int) int {
	if len(p) < size {
		return -1
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(p[0])
	case 4:
		n = uint64(binary.LittleEndian.Uint32(p))
	case 8:
		n = binary.LittleEndian.Uint64(p)
	}
	if n > math.MaxInt32 {
		return -1
	}
	return size + int(n)
}

// stackNames follows the strings on top of the unpickler's stack, as far
// as STACK_GLOBAL needs: the last two pushed, by a string opcode or from
// the memo, with nothing but memo writes, frames and protocol marks since.
type stackNames struct {
	last  [2]string
	known int // how many of last are on top of the stack
	memo  map[int]memoed
}

// memoed is a memo slot: a string, or something else.
type memoed struct {
	s        string
	isString bool
}

// step follows opcode op with argument arg.
func (n *stackNames) step(op byte, arg []byte) {
	switch op {
	case 'X': // BINUNICODE
		n.push(string(arg[4:]))
	case 0x8d: // BINUNICODE8
		n.push(string(arg[8:]))
	case 0x8c: // SHORT_BINUNICODE
		n.push(string(arg[1:]))
	case 'p', 'q', 'r', 0x94: // PUT, BINPUT, LONG_BINPUT, MEMOIZE
		if n.memo == nil {
			n.memo = map[int]memoed{}
		}
		at := memoIndex(op, arg)
		if op == 0x94 {
			at = len(n.memo)
		}
		n.memo[at] = memoed{n.last[1], n.known > 0}
	case 'g', 'h', 'j': // GET, BINGET, LONG_BINGET
		if m := n.memo[memoIndex(op, arg)]; m.isString {
			n.push(m.s)
		} else {
			n.known = 0
		}
	case 0x80, 0x95: // PROTO, FRAME
	default:
		n.known = 0
	}
}

// memoized reports whether memo index at was set.
func (n *stackNames) memoized(at int) bool {
	_, ok := n.memo[at]
	return ok
}

func (n *stackNames) push(s string) {
	n.last[0], n.last[1] = n.last[1], s
	n.known = min(n.known+1, 2)
}

// pair returns the module and name a STACK_GLOBAL would take.
func (n *stackNames) pair() (module, name string, ok bool) {
	return n.last[0], n.last[1], n.known == 2
}

// memoIndex reads the memo index of a PUT or GET opcode's argument; -1
// if it is not a number.
func memoIndex(op byte, arg []byte) int {
	switch op {
	case 'q', 'h':
		return int(arg[0])
	case 'r', 'j':
		return int(binary.LittleEndian.Uint32(arg))
	}
	v, err := strconv.Atoi(strings.TrimSuffix(string(arg), "\n"))
	if err != nil {
		return -1
	}
	return v
}
