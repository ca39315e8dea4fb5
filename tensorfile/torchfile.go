package tensorfile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"

	"github.com/chanprune/chanprune/internal/clip"
)

// maxPickle bounds data.pkl, which describes tensors but holds none.
const maxPickle = 64 << 20

// torchFile is a torch.save file: a zip holding ARCHIVE/data.pkl, a pickle
// whose tensors point at storages ARCHIVE/data/KEY, read only when a tensor
// is. Its keys are paths through the pickled dicts and lists, '/' between
// levels.
type torchFile struct {
	*zipFile
	prefix string // "ARCHIVE/"
	order  binary.ByteOrder
	root   *node
	paths  []string // every tensor, depth-first
}

func openTorch(z *zipFile, pkl *zip.File) (*torchFile, error) {
	f := &torchFile{zipFile: z, prefix: path.Dir(pkl.Name) + "/", order: binary.LittleEndian}
	for _, e := range z.z.File {
		if e.Name != f.prefix+"byteorder" {
			continue
		}
		b, err := z.readMember(e, 16)
		if err != nil {
			return nil, err
		}
		switch string(b) {
		case "little":
		case "big":
			f.order = binary.BigEndian
		default:
			return nil, fmt.Errorf("%w: byteorder %q", ErrFormat, b)
		}
	}
	p, err := z.readMember(pkl, maxPickle)
	if err != nil {
		return nil, err
	}
	v, err := unpickle(p)
	if err != nil {
		return nil, err
	}
	budget := maxTree
	if f.root, err = toNode(v, 0, 0, &budget); err != nil {
		return nil, err
	}
	if err := f.index(); err != nil {
		return nil, err
	}
	return f, nil
}

// index lists the tensors' paths, refusing what a key or torch.load would
// read otherwise: two values with one path, as dict keys holding '/' give
// ({"a/b": x, "a": {"b": y}}: a key reads only one), and a storage named
// with two dtypes or sizes (torch.load takes the first for all; torch.save
// never writes it).
func (f *torchFile) index() error {
	paths := map[string]bool{}
	storages := map[string]storage{}
	var err error
	f.root.walk("", func(p string, n *node) {
		if n == f.root || err != nil {
			return
		}
		if paths[p] {
			err = fmt.Errorf("%w: pickle: two values have the path %q (dict keys holding '/'): ambiguous",
				ErrFormat, clip.Value(p))
			return
		}
		paths[p] = true
		if n.tensor == nil {
			return
		}
		f.paths = append(f.paths, p)
		s := *n.tensor.storage
		if was, seen := storages[s.key]; seen && was != s {
			err = fmt.Errorf("%w: pickle: storage %s is a %s of %d elements at %q, but a %s of %d before: ambiguous",
				ErrFormat, clip.Value(s.key), s.dtype.name, s.numel, clip.Value(p), was.dtype.name, was.numel)
			return
		}
		storages[s.key] = s
	})
	return err
}

// unpickle checks the pickle (checkPickle) and runs it, with the globals
// and persistent ids of torchpickle.go.
func unpickle(p []byte) (v any, err error) {
	if err := checkPickle(p, func(module, name string) error {
		_, err := findClass(module, name)
		return err
	}); err != nil {
		return nil, err
	}
	defer func() { // gopickle panics on some malformed input (an odd SETITEMS)
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%w: pickle: malformed opcodes (the unpickler gave up)", ErrFormat)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(p))
	u.FindClass, u.PersistentLoad = findClass, persistentLoad
	if v, err = u.Load(); err != nil {
		return nil, wrapPickleErr(err)
	}
	return v, nil
}

func (f *torchFile) keys() []string { return f.paths }

// batchKeys lists a top-level list or tuple of tensors, or the values of a
// top-level dict of tensors in insertion order.
func (f *torchFile) batchKeys() ([]string, error) {
	if f.root.tensor != nil {
		return []string{""}, nil
	}
	if f.root.kind != "dict" && f.root.kind != "list" && f.root.kind != "tuple" {
		return nil, fmt.Errorf("%w: the file holds a %s, not tensors", ErrKey, f.root.kind)
	}
	for i, item := range f.root.items {
		if item.tensor == nil {
			return nil, fmt.Errorf("%w: %s holds a %s at %s: batches come from a list, tuple or dict of tensors; "+
				"name one with FILE#KEY (the file holds %s)", ErrKey, f.root.kind, item.kind, f.root.keys[i], listKeys(f.paths))
		}
	}
	return f.root.keys, nil
}

func (f *torchFile) tensor(key string) (tensor, error) {
	n := f.root
	if key != "" {
		if n = f.root.find(key); n == nil {
			return tensor{}, missingKey(f, key)
		}
	} else if n.tensor == nil {
		k, err := onlyKey(f, key)
		if err != nil {
			return tensor{}, err
		}
		n = f.root.find(k)
	}
	if n.tensor == nil {
		var inside []string
		n.walk(key, func(p string, n *node) {
			if n.tensor != nil {
				inside = append(inside, p)
			}
		})
		return tensor{}, fmt.Errorf("%w: %q is a %s, not a tensor; it holds %s", ErrKey, clip.Value(key), n.kind, listKeys(inside))
	}
	t := n.tensor
	name := f.prefix + "data/" + t.storage.key
	for _, e := range f.z.File {
		if e.Name != name {
			continue
		}
		m, sized, err := f.member(e)
		if err != nil {
			return tensor{}, err
		}
		size := m.n
		dt := t.storage.dtype
		dt.order = f.order
		if dt.size > 0 && size != t.storage.numel*int64(dt.size) {
			return tensor{}, fmt.Errorf("%w: storage %s has %d bytes, want %d elements of %s",
				ErrFormat, e.Name, size, t.storage.numel, dt.name)
		}
		return newTensor(m, 0, t.storage.numel, sized, dt, t.shape, t.strides, t.offset)
	}
	return tensor{}, fmt.Errorf("%w: storage %s is missing", ErrFormat, name)
}

// find resolves a '/'-separated path; dict keys may hold '/' themselves,
// so every split that names a key is tried.
func (n *node) find(p string) *node {
	for i, k := range n.keys {
		if p == k {
			return n.items[i]
		}
		if rest, ok := strings.CutPrefix(p, k+"/"); ok {
			if found := n.items[i].find(rest); found != nil {
				return found
			}
		}
	}
	return nil
}

// walk calls fn for n and everything inside it, depth-first, with paths.
func (n *node) walk(p string, fn func(p string, n *node)) {
	fn(p, n)
	for i, item := range n.items {
		q := n.keys[i]
		if p != "" {
			q = p + "/" + q
		}
		item.walk(q, fn)
	}
}
