// Package atomicfile writes files so that an interrupted run never leaves a
// half-written one: the data goes to a temporary file beside the target,
// which is synced and renamed over it once complete.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write creates path (mode 0644) with what write writes, atomically.
func Write(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	// Sync so that after a crash the renamed file has its data.
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
