package tensorfile

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
)

// The pickle of a torch.save file may build only what this file defines:
// tensors (torch._utils._rebuild_tensor_v2 over a storage that
// persistentLoad returns, torch._utils._rebuild_parameter), storage
// types, and what gopickle builds without a global (dicts, lists, tuples,
// scalars) or by itself (collections.OrderedDict).

// torchStorages maps torch's storage classes to their dtypes.
var torchStorages = map[string]dtype{
	"FloatStorage": {kind: f32, size: 4}, "HalfStorage": {kind: f16, size: 2},
	"BFloat16Storage": {kind: bf16, size: 2}, "DoubleStorage": {kind: f64, size: 8},
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
		return nil, fmt.Errorf("%w: pickle: persistent id %v is not a storage", ErrFormat, pid)
	}
	class, ok1 := t.Get(1).(storageClass)
	key, ok2 := t.Get(2).(string)
	numel, ok3 := t.Get(4).(int)
	if !ok1 || !ok2 || !ok3 || numel < 0 || numel > maxElems {
		return nil, fmt.Errorf("%w: pickle: storage %v", ErrFormat, pid)
	}
	return &storage{key, class.dtype, int64(numel)}, nil
}

// Call rebuilds a tensor from (storage, storage_offset, size, stride,
// requires_grad, backward_hooks[, metadata]).
func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("%w: pickle: _rebuild_tensor_v2 with %d arguments", ErrFormat, len(args))
	}
	s, ok1 := args[0].(*storage)
	offset, ok2 := args[1].(int)
	shape, err1 := ints(args[2])
	strides, err2 := ints(args[3])
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: pickle: _rebuild_tensor_v2%v", ErrFormat, args[:4])
	}
	return &torchTensor{s, int64(offset), shape, strides}, nil
}

// Call returns the tensor of (data, requires_grad, backward_hooks).
func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: pickle: _rebuild_parameter without data", ErrFormat)
	}
	if _, ok := args[0].(*torchTensor); !ok {
		return nil, fmt.Errorf("%w: pickle: _rebuild_parameter of a %T", ErrFormat, args[0])
	}
	return args[0], nil
}

func ints(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok || t.Len() > maxDims {
		return nil, errors.New("not a tuple of ints")
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, errors.New("not a tuple of ints")
		}
	}
	return out, nil
}

// wrapPickleErr marks gopickle's own errors as format errors.
func wrapPickleErr(err error) error {
	if errors.Is(err, ErrFormat) || errors.Is(err, ErrForbidden) {
		return err
	}
	return fmt.Errorf("%w: pickle: %v", ErrFormat, err)
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
		for _, e := range *v {
			if err = n.add(e.Key, e.Value, depth, pathLen, budget); err != nil {
				break
			}
		}
	case *types.OrderedDict:
		n.kind = "dict"
		for e := v.List.Front(); e != nil && err == nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			err = n.add(entry.Key, entry.Value, depth, pathLen, budget)
		}
	case *types.List:
		n.kind = "list"
		err = n.addAll(*v, depth, pathLen, budget)
	case *types.Tuple:
		n.kind = "tuple"
		err = n.addAll(*v, depth, pathLen, budget)
	case nil, bool, int, float64, string, *big.Int, []byte:
		n.kind = strings.TrimPrefix(fmt.Sprintf("%T", v), "*big.")
		if v == nil {
			n.kind = "None"
		}
	default:
		return nil, fmt.Errorf("%w: pickle builds a %T: a .pt may hold only tensors, dicts, lists, tuples and scalars",
			ErrForbidden, v)
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

func (n *node) add(k, v any, depth, pathLen int, budget *int) error {
	var key string
	switch k := k.(type) {
	case string:
		key = k
	case int:
		key = strconv.Itoa(k)
	default:
		return fmt.Errorf("%w: pickle: dict key of type %T", ErrFormat, k)
	}
	item, err := toNode(v, depth+1, pathLen+1+len(key), budget)
	if err != nil {
		return err
	}
	n.keys, n.items = append(n.keys, key), append(n.items, item)
	return nil
}

func (n *node) addAll(items []any, depth, pathLen int, budget *int) error {
	for i, v := range items {
		if err := n.add(i, v, depth, pathLen, budget); err != nil {
			return err
		}
	}
	return nil
}
