package tensorfile

import (
	"fmt"
	"math"
	"sort"

	"github.com/chanprune/chanprune/internal/clip"
	"github.com/chanprune/chanprune/internal/osfile"
)

// Batches is the list of activation batches that batch arguments name,
// planned by OpenBatches without reading any data; Read then reads one
// batch at a time.
//
// An argument FILE#KEY, or a .npy file, is one batch. A container without
// a key is every tensor it holds: an .npz's arrays and a .safetensors
// file's tensors in natural order of their names (batch_2 before
// batch_10), a .pt's top-level list or tuple of tensors in order, or its
// top-level dict of tensors in insertion order. With stacked, each
// argument names one array whose leading axis enumerates batches: an
// array [n, ...] is n batches of shape [...], read one slice at a time.
type Batches struct {
	groups []group
	starts []int // index of each group's first batch
	n      int

	// The file last read from, and its tensor, kept while batches come
	// from them.
	path string
	f    file
	key  string
	t    *tensor
}

// group is the batches one argument names: tensors of one file, or the
// rows of a stacked tensor.
type group struct {
	name, path string
	keys       []string // one batch per key; "" is the file's only array
	expanded   bool     // the keys are a container's, not the argument's
	stacked    bool     // the batches are the rows of keys[0]
	rows       int
}

// OpenBatches plans the batches args name: each argument is a reference
// FILE[#KEY] (see ParseRef) and, with stacked, names one array whose rows
// are the batches. It opens each file to check it and closes it again; no
// data is read. Its errors name the argument.
func OpenBatches(args []string, stacked bool) (*Batches, error) {
	b := &Batches{}
	for _, arg := range args {
		g, err := planGroup(arg, stacked)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", clip.Value(arg), osfile.Unnamed(err))
		}
		if g.len() > math.MaxInt-b.n {
			return nil, fmt.Errorf("%s: %w: %d batches after %d overflow the batch count", clip.Value(arg), ErrTooLarge, g.len(), b.n)
		}
		b.groups = append(b.groups, g)
		b.starts = append(b.starts, b.n)
		b.n += g.len()
	}
	return b, nil
}

func planGroup(arg string, stacked bool) (group, error) {
	ref := ParseRef(arg)
	f, err := open(ref.Path)
	if err != nil {
		return group{}, err
	}
	defer f.Close()
	g := group{name: arg, path: ref.Path, keys: []string{ref.Key}, stacked: stacked}
	switch {
	case stacked:
		t, err := floatTensor(f, ref.Key)
		if err != nil {
			return g, err
		}
		if len(t.shape) == 0 {
			return g, fmt.Errorf("%w: stacked, but a scalar has no leading axis", ErrBatches)
		}
		if !t.row(0).contiguous() {
			return g, fmt.Errorf("%w: stacked, but the rows of an array with strides %v for shape %v are not "+
				"contiguous (Fortran order or a strided view): save it in C order", ErrBatches, t.strides, t.shape)
		}
		g.rows = t.shape[0]
	case ref.Key == "":
		g.keys, err = f.batchKeys()
		g.expanded = true
	default:
		_, err = floatTensor(f, ref.Key)
	}
	switch {
	case err != nil:
		return g, err
	case g.len() > 0:
		return g, nil
	case stacked:
		return g, fmt.Errorf("%w: stacked, but the leading axis has length 0", ErrBatches)
	}
	return g, fmt.Errorf("%w: the file holds no tensors", ErrBatches)
}

func (g group) len() int {
	if g.stacked {
		return g.rows
	}
	return len(g.keys)
}

// Len returns the number of batches.
func (b *Batches) Len() int { return b.n }

// Name names batch i: its argument, ARG#KEY for a tensor of a container,
// or ARG[j] for the j-th row of a stacked array.
func (b *Batches) Name(i int) string {
	g, j := b.locate(i)
	switch {
	case g.stacked:
		return fmt.Sprintf("%s[%d]", g.name, j)
	case g.expanded && g.keys[j] != "":
		return g.path + "#" + g.keys[j]
	}
	return g.name
}

// Read reads batch i, 0 <= i < Len(), into buf's memory when it has the
// capacity (the returned Data then aliases buf; pass the last Data back to
// reuse it). The file of the batch stays open for the next Read until a
// batch from another file or Close. A Batches is for one goroutine at a
// time.
func (b *Batches) Read(i int, buf []float32) (*Array, error) {
	g, j := b.locate(i)
	key, row := g.keys[0], j
	if !g.stacked {
		key, row = g.keys[j], -1
	}
	if b.f == nil || b.path != g.path {
		b.Close()
		f, err := open(g.path)
		if err != nil {
			return nil, err
		}
		b.f, b.path = f, g.path
	}
	if b.t == nil || b.key != key {
		t, err := b.f.tensor(key)
		if err != nil {
			return nil, err
		}
		b.t, b.key = &t, key
	}
	if row >= 0 {
		return b.t.row(row).read(buf)
	}
	return b.t.read(buf)
}

// Close closes the file last read from. The batches can still be read
// after it; Read reopens the file.
func (b *Batches) Close() error {
	b.t = nil
	if b.f == nil {
		return nil
	}
	err := b.f.Close()
	b.f = nil
	return err
}

// locate returns the group of batch i and the batch's index in it.
func (b *Batches) locate(i int) (group, int) {
	k := sort.SearchInts(b.starts, i+1) - 1
	return b.groups[k], i - b.starts[k]
}
