package tensorfile

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/internal/npy"
	"github.com/chanprune/chanprune/internal/osfile"
)

// Arrays of npy.MaxElems empty batches each, the most a leading dimension may
// hold: the files are tiny, and nine of them count past math.MaxInt. The
// count must not wrap.
func TestStackedBatchCountOverflow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.npy")
	writeFile(t, path, npyBytes(fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 0), }", npy.MaxElems), nil))
	args := []string{path, path, path, path, path, path, path, path}
	if b, err := OpenBatches(args, true); err != nil || b.Len() != 8*npy.MaxElems {
		t.Fatalf("%d arrays of %d batches: %v", len(args), npy.MaxElems, err)
	}
	args = append(args, path)
	b, err := OpenBatches(args, true)
	if err == nil {
		t.Fatalf("%d arrays of %d batches: %d batches, want an error", len(args), npy.MaxElems, b.Len())
	}
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), path) {
		t.Errorf("%d arrays of %d batches: %v, want ErrTooLarge naming %s", len(args), npy.MaxElems, err, path)
	}
}

// A directory is not a tensor file: refused by what it is, naming it.
func TestDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	_, err := Read(ParseRef(dir))
	if !errors.Is(err, osfile.ErrNotRegular) || !strings.Contains(err.Error(), "a directory, not a regular file") || !strings.Contains(err.Error(), dir) {
		t.Errorf("Read of a directory: %v, want osfile.ErrNotRegular naming it as a directory", err)
	}
}

// A tensor name of 1 MB, listed when a key is not found: cut, like the key.
func TestLongKeysCutInErrors(t *testing.T) {
	name := strings.Repeat("n", 1<<20)
	path := filepath.Join(t.TempDir(), "long.safetensors")
	writeFile(t, path, safetensorsBytes(`{"`+name+`": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}`, make([]byte, 4)))
	_, err := Read(Ref{Path: path, Key: strings.Repeat("k", 1<<20)})
	if !errors.Is(err, ErrKey) || len(err.Error()) > 1000 || strings.Count(err.Error(), "bytes)") != 2 {
		t.Errorf("a missing key among long names: %d bytes: %.300q…, want ErrKey quoting both cut", len(err.Error()), err)
	}
}

// Long names and tokens in a corrupt header: each message quotes them cut.
func TestLongValuesCutInHeaderErrors(t *testing.T) {
	long := strings.Repeat("N", 60000) // within a version 1 .npy header
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"safetensors entry", safetensorsBytes(`{"`+long+`": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}`, make([]byte, 4))},
		{"npy name", npyBytes(`{'descr': '<f4', 'fortran_order': `+long+`, 'shape': (1,), }`, make([]byte, 4))},
		{"npy integer", npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (1`+long+`,), }`, make([]byte, 4))},
		{"npy after the dict", npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } `+long, make([]byte, 4))},
		{"npy keys", npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (1,), '`+long+`': 1, }`, make([]byte, 4))},
	} {
		err := readAll(tc.file)
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrDtype) || len(err.Error()) > 1000 {
			t.Errorf("%s: %d bytes: %.300q…, want a format error quoting the value cut", tc.name, len(err.Error()), err)
		}
	}
}
