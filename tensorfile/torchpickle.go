package tensorfile

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/chanprune/chanprune/internal/npy"
	"github.com/nlpodyssey/gopickle/types"
)

// The pickle of a torch.save file may build only what this file defines:
// tensors (torch._utils._rebuild_tensor_v2 over a storage that
// persistentLoad returns, torch._utils._rebuild_parameter), storage
// types, and what gopickle builds without a global (dicts, lists, tuples,
// scalars) or by itself (collections.OrderedDict).

// torchStorages maps torch's storage classes to their dtypes.
var torchStorages = map[string]dtype{
	"FloatStorage": {kind: Float32, size: 4}, "HalfStorage": {kind: Float16, size: 2},
	"BFloat16Storage": {kind: BFloat16, size: 2}, "DoubleStorage": {kind: Float64, size: 8},
	"LongStorage": {size: 8}, "IntStorage": {size: 4}, "ShortStorage": {size: 2}, "CharStorage": {size: 1},
	"ByteStorage": {size: 1}, "BoolStorage": {size: 1}, "ComplexFloatStorage": {size: 8},
	"ComplexDoubleStorage": {size: 16},
}

// storageClass is a torch.*Storage global.
type storageClass struct{ dtype dtype }

// storage is a persistent ('storage', class, key, location, numel).
type storage struct {
	key   string
	dtype dtype
	numel int64
}

// torchTensor is what _rebuild_tensor_v2 returns.
type torchTensor struct {
	storage        *storage
	offset         int64
	shape, strides []int
}

type rebuildTensor struct{}

type rebuildParameter struct{}

func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2":
		return rebuildTensor{}, nil
	case "torch._utils._rebuild_parameter":
		return rebuildParameter{}, nil
	case "collections.OrderedDict":
		return &types.OrderedDictClass{}, nil
	}
	if dt, ok := torchStorages[name]; ok && module == "torch" {
		dt.name = "torch." + name
		return storageClass{dt}, nil
	}
	return nil, fmt.Errorf("%w %s.%s: a .pt may hold only tensors, dicts, lists, tuples and scalars",
		ErrForbidden, module, name)
}

func persistentLoad(pid any) (any, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() != 5 || t.Get(0) != "storage" {
		return nil, fmt.Errorf("%w: pickle: a persistent id (a %s) is not ('storage', type, key, location, numel)",
			ErrFormat, pyType(pid))
	}
	class, ok1 := t.Get(1).(storageClass)
	key, ok2 := t.Get(2).(string)
	numel, ok3 := t.Get(4).(int)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("%w: pickle: a storage's persistent id holds a %s, a %s and a %s: want a torch storage type, "+
			"a str key and an int numel", ErrFormat, pyType(t.Get(1)), pyType(t.Get(2)), pyType(t.Get(4)))
	}
	if numel < 0 || numel > npy.MaxElems {
		return nil, fmt.Errorf("%w: pickle: storage %s of %d elements", ErrFormat, key, numel)
	}
	return &storage{key, class.dtype, int64(numel)}, nil
}

// Call rebuilds a tensor from (storage, storage_offset, size, stride,
// requires_grad, backward_hooks[, metadata]).
func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("%w: pickle: _rebuild_tensor_v2 with %d arguments", ErrFormat, len(args))
	}
	s, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("%w: pickle: _rebuild_tensor_v2 of a %s, not a storage", ErrFormat, pyType(args[0]))
	}
	offset, ok := args[1].(int)
	if !ok {
		return nil, fmt.Errorf("%w: pickle: _rebuild_tensor_v2: the storage offset is a %s, not an int", ErrFormat, pyType(args[1]))
	}
	shape, err := ints(args[2])
	if err != nil {
		return nil, fmt.Errorf("%w: pickle: _rebuild_tensor_v2: the size %v", ErrFormat, err)
	}
	strides, err := ints(args[3])
	if err != nil {
		return nil, fmt.Errorf("%w: pickle: _rebuild_tensor_v2: the stride %v", ErrFormat, err)
	}
	return &torchTensor{s, int64(offset), shape, strides}, nil
}

// Call returns the tensor of (data, requires_grad, backward_hooks).
func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: pickle: _rebuild_parameter without data", ErrFormat)
	}
	if _, ok := args[0].(*torchTensor); !ok {
		return nil, fmt.Errorf("%w: pickle: _rebuild_parameter of a %s", ErrFormat, pyType(args[0]))
	}
	return args[0], nil
}

// ints reads a tuple of at most npy.MaxDims ints; its errors complete a
// sentence naming the tuple.
func ints(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("is a %s, not a tuple", pyType(v))
	}
	if t.Len() > npy.MaxDims {
		return nil, fmt.Errorf("has %d dimensions, more than %d", t.Len(), npy.MaxDims)
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, fmt.Errorf("holds a %s at %d, not an int", pyType(t.Get(i)), i)
		}
	}
	return out, nil
}

// wrapPickleErr marks gopickle's own errors as format errors, keeping
// their words but not the Go syntax of a value that some end with
// (": %#v"), which means nothing to a user.
func wrapPickleErr(err error) error {
	if errors.Is(err, ErrFormat) || errors.Is(err, ErrForbidden) {
		return err
	}
	msg := err.Error()
	if words, value, ok := strings.Cut(msg, ": "); ok && strings.Trim(value, "0123456789") != "" {
		msg = words
	}
	if strings.HasPrefix(msg, "cannot instantiate ") {
		msg = "OBJ cannot instantiate its class"
	}
	return fmt.Errorf("%w: pickle: %s", ErrFormat, msg)
}

// node is a value of the unpickled tree: a tensor, a container with
// keys (a dict's, or a list's indices) or a scalar.
type node struct {
	kind   string // "tensor", "dict", "list", "tuple", or a scalar's type
	tensor *torchTensor
	keys   []string
	items  []*node
}

const (
	// maxTree bounds the tree: each value costs 64 bytes plus the length
	// of its path, counting a shared value each time it is reached, so
	// that neither a value shared many times nor long keys nested deep
	// can make the tree or its paths large.
	maxTree  = 64 << 20
	maxDepth = 64
)

// toNode converts what gopickle built, refusing anything but tensors,
// dicts, lists, tuples and scalars; pathLen is the length of v's path.
// Shared and cyclic values are bounded by budget (see maxTree) and
// maxDepth.
func toNode(v any, depth, pathLen int, budget *int) (*node, error) {
	if *budget -= 64 + pathLen; *budget < 0 || depth > maxDepth {
		return nil, fmt.Errorf("%w: the pickle nests deeper than %d or its tree takes more than %d bytes",
			ErrTooLarge, maxDepth, maxTree)
	}
	n := &node{}
	var err error
	switch v := v.(type) {
	case *torchTensor:
		n.kind, n.tensor = "tensor", v
	case *types.Dict:
		n.kind = "dict"
		err = n.addDict(*v, depth, pathLen, budget)
	case *types.OrderedDict:
		n.kind = "dict"
		entries := make([]types.DictEntry, 0, v.Len())
		for e := v.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			entries = append(entries, types.DictEntry{Key: entry.Key, Value: entry.Value})
		}
		err = n.addDict(entries, depth, pathLen, budget)
	case *types.List:
		n.kind = "list"
		err = n.addAll(*v, depth, pathLen, budget)
	case *types.Tuple:
		n.kind = "tuple"
		err = n.addAll(*v, depth, pathLen, budget)
	case nil, bool, int, float64, string, *big.Int, []byte:
		n.kind = pyType(v)
	default:
		return nil, fmt.Errorf("%w: pickle builds a %s: a .pt may hold only tensors, dicts, lists, tuples and scalars",
			ErrForbidden, pyType(v))
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

// addDict adds a dict's entries as Python builds the dict, which is what
// torch.load returns: a key set again keeps the place it was first set at
// and takes the last value. (gopickle's Dict keeps every SETITEM.) Keys
// that differ but read the same as a path, 1 and '1', are refused as
// ambiguous.
func (n *node) addDict(entries []types.DictEntry, depth, pathLen int, budget *int) error {
	type set struct {
		key any // as pickled
		at  int // in n.items
	}
	sets := make(map[string]set, len(entries))
	for _, e := range entries {
		key, err := keyString(e.Key)
		if err != nil {
			return err
		}
		was, seen := sets[key]
		if seen && was.key != e.Key {
			return fmt.Errorf("%w: pickle: dict keys %s %q and %s %q both read as key %s: ambiguous",
				ErrFormat, pyType(was.key), key, pyType(e.Key), key, key)
		}
		item, err := toNode(e.Value, depth+1, pathLen+1+len(key), budget)
		if err != nil {
			return err
		}
		if seen {
			n.items[was.at] = item
			continue
		}
		sets[key] = set{e.Key, len(n.items)}
		n.keys, n.items = append(n.keys, key), append(n.items, item)
	}
	return nil
}

// keyString is a dict key (a string or an int) as a path key.
func keyString(k any) (string, error) {
	switch k := k.(type) {
	case string:
		return k, nil
	case int:
		return strconv.Itoa(k), nil
	}
	return "", fmt.Errorf("%w: pickle: dict key of type %s", ErrFormat, pyType(k))
}

func (n *node) add(key string, v any, depth, pathLen int, budget *int) error {
	item, err := toNode(v, depth+1, pathLen+1+len(key), budget)
	if err != nil {
		return err
	}
	n.keys, n.items = append(n.keys, key), append(n.items, item)
	return nil
}

func (n *node) addAll(items []any, depth, pathLen int, budget *int) error {
	for i, v := range items {
		if err := n.add(strconv.Itoa(i), v, depth, pathLen, budget); err != nil {
			return err
		}
	}
	return nil
}

// pyType names the type of a value gopickle built, for messages, as
// Python would rather than Go.
func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case *types.Dict, *types.OrderedDict:
		return "dict"
	case *types.List:
		return "list"
	case *types.Tuple:
		return "tuple"
	case *types.Set:
		return "set"
	case *types.FrozenSet:
		return "frozenset"
	case *types.ByteArray:
		return "bytearray"
	case *torchTensor:
		return "tensor"
	case *storage:
		return "storage"
	case storageClass, *types.OrderedDictClass, *types.ObjectClass:
		return "class"
	case rebuildTensor, rebuildParameter, *types.Reconstructor:
		return "function"
	}
	return "object of another kind"
}
