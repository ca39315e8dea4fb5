// Package atomicfile writes a command's output files so that no file is
// harmed: each goes to a temporary file beside its target, synced, and the
// temporaries are renamed over their targets only once all are written
// (see Set). A symbolic link is written through to its target, an existing
// file keeps its mode, and a character device or FIFO (/dev/stdout, a
// pipe) is written directly, never replaced.
package atomicfile

import (
	"errors"
	"io"
)

var (
	// ErrCollision reports an output that is one of the command's inputs
	// or another of its outputs.
	ErrCollision = errors.New("refusing to write the same file twice or over an input")
)

// Write writes path with what write writes, as a Set of one output.
func Write(path string, write func(io.Writer) error) error {
	var s Set
	defer s.Abort()
	o, err := s.Add("", path)
	if err != nil {
		return err
	}
	if err := o.Write(write); err != nil {
		return err
	}
	return s.Commit()
}
