// Package osfile opens and names files for the rest of the module: input
// files that must be regular, and the kinds of those that are not.
package osfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/chanprune/chanprune/internal/clip"
)

// ErrNotRegular reports a path that names a named pipe, a device, a socket
// or a directory where a file is wanted.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens the file at path for reading and refuses anything but a
// regular file: a named pipe, a device, a socket or a directory would block,
// never end or not read at all. Where the system has O_NONBLOCK the open
// itself cannot block (a FIFO without a writer would), and the check is on
// the file opened, not on a name that could change between a Stat and the
// open. It returns the file and its size; the error is an *fs.PathError
// naming path, which a caller that names the file itself drops (Unnamed).
func OpenRegular(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|Nonblock, 0)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) { // a path past any limit comes back cut
			pe.Path = clip.Value(pe.Path)
		}
		return nil, 0, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: clip.Value(path), Err: fmt.Errorf("%s, %w", Kind(st.Mode()), ErrNotRegular)}
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// Unnamed drops the file names from an *fs.PathError or *os.LinkError,
// keeping the cause (errors.Is still finds fs.ErrNotExist), for a message
// that names the file as the user gave it, not as a temporary file's name.
func Unnamed(err error) error {
	switch e := err.(type) { // only as returned: a wrapped one is in a message already
	case *fs.PathError:
		return e.Err
	case *os.LinkError:
		return e.Err
	}
	return err
}

// Kind names the type of a file that is not regular, for messages.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
