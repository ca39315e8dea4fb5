package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/chanprune/chanprune/internal/osfile"
)

// maxLinks bounds the symbolic links followed, as the kernel's ELOOP does.
const maxLinks = 40

// target is where an output lands: the file path's links lead to, its
// state if it exists (nil if not) and whether it is written directly.
type target struct {
	path   string
	info   fs.FileInfo
	direct bool
}

// resolve follows path's symbolic links to the file to write. A character
// device or FIFO is opened as path itself, so that the kernel follows
// /dev/stdout's magic links; a regular file or a new one is found by
// reading the links, so its temporary can go in the target's directory.
func resolve(path string) (target, error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.Mode().Type()&(fs.ModeCharDevice|fs.ModeNamedPipe) != 0:
		return target{path: path, info: st, direct: true}, nil
	case err == nil && !st.Mode().IsRegular():
		return target{}, fmt.Errorf("%s, %w", osfile.Kind(st.Mode()), osfile.ErrNotRegular)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return target{}, err
	}
	p := path
	for range maxLinks {
		lst, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return target{path: p}, nil // a new file, maybe under a dangling link
		}
		if err != nil {
			return target{}, err
		}
		if lst.Mode().Type() != fs.ModeSymlink {
			// The links read must lead where the kernel's did.
			if st == nil || !os.SameFile(st, lst) {
				return target{}, fmt.Errorf("its symbolic links do not lead to the file the system opens")
			}
			return target{path: p, info: lst}, nil
		}
		link, err := os.Readlink(p)
		if err != nil {
			return target{}, err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(p), link)
		}
		p = link
	}
	return target{}, fmt.Errorf("more than %d symbolic links", maxLinks)
}

// key names a file by its absolute path with the directory's links
// resolved, so two spellings of one new file compare equal.
func key(path string) string {
	dir, base := filepath.Split(path)
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		path = filepath.Join(d, base)
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}
