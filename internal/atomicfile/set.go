package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"github.com/chanprune/chanprune/internal/osfile"
)

// Set is one command's outputs. Declare each with Add, check the files the
// command reads with Input, Write each, then Commit; defer Abort.
//
// Regular files land all or none: Write stages each to a temporary and
// Commit renames them only once all are written; a failure before Commit
// leaves every target as it was. The renames themselves cannot be one
// atomic step: if one fails (its directory removed meanwhile), those before
// it have landed. A signal handler's RemoveTemps waits for them to finish.
// Character devices and FIFOs receive their data as Write writes it.
type Set struct {
	outs []*Output
}

// Output is one file of a Set.
type Output struct {
	label string // "--flag path" or "path", for messages
	path  string
	to    target
	temp  string // the staged temporary, "" when none
	done  bool
}

// Path is the path the output was declared with.
func (o *Output) Path() string { return o.path }

// Add declares the output path, named flag in messages (may be ""). It
// refuses a directory or other special file, a file whose directory does
// not exist or cannot take a new file (tried with a temporary, removed at
// once), and a file that an earlier output of the set names (by path,
// through links or as a hard link); devices and FIFOs may repeat
// (/dev/null twice). So a run is refused before its work, not after.
func (s *Set) Add(flag, path string) (*Output, error) {
	o := &Output{label: path, path: path}
	if flag != "" {
		o.label = flag + " " + path
	}
	to, err := resolve(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.label, err)
	}
	o.to = to
	if !to.direct {
		f, err := createTemp(to.path)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot write in its directory: %w", o.label, osfile.Unnamed(err))
		}
		f.Close()
		dropTemp(f.Name())
	}
	for _, p := range s.outs {
		if !o.to.direct && o.same(key(p.to.path), p.to.info) {
			return nil, fmt.Errorf("%s: the same file as %s: %w", o.label, p.label, ErrCollision)
		}
	}
	s.outs = append(s.outs, o)
	return o, nil
}

// same reports whether the output's file is the one named k with state
// info (nil if it does not exist).
func (o *Output) same(k string, info fs.FileInfo) bool {
	if key(o.to.path) == k {
		return true
	}
	return o.to.info != nil && info != nil && os.SameFile(o.to.info, info)
}

// Input refuses a file the command reads, named flag in messages, that is
// one of the set's files. A path that does not exist is left to its reader.
func (s *Set) Input(flag, path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return nil
	}
	k := path
	if p, err := resolve(path); err == nil {
		k = p.path
	}
	for _, o := range s.outs {
		if !o.to.direct && o.same(key(k), info) {
			return fmt.Errorf("%s: the same file as the input %s %s: %w", o.label, flag, path, ErrCollision)
		}
	}
	return nil
}

// Write writes the output with what write writes: a regular file to a
// synced temporary in its target's directory with the target's mode (a new
// file 0644 less the umask), a device or FIFO directly.
func (o *Output) Write(write func(io.Writer) error) error {
	if o.done || o.temp != "" {
		return fmt.Errorf("%s: written twice", o.label)
	}
	var err error
	if o.to.direct {
		err = o.writeDirect(write)
		o.done = true
	} else {
		err = o.stage(write)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", o.label, osfile.Unnamed(err))
	}
	return nil
}

func (o *Output) writeDirect(write func(io.Writer) error) error {
	f, err := os.OpenFile(o.to.path, os.O_WRONLY|osfile.Nonblock, 0)
	if err != nil {
		if o.to.info.Mode().Type() == fs.ModeNamedPipe {
			return fmt.Errorf("a FIFO with no reader: %w", err)
		}
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (o *Output) stage(write func(io.Writer) error) (err error) {
	f, err := createTemp(o.to.path)
	if err != nil {
		return fmt.Errorf("creating a temporary file beside it: %w", osfile.Unnamed(err))
	}
	defer func() {
		if err != nil {
			f.Close()
			dropTemp(f.Name())
		}
	}()
	// Set the mode before any data is written, so that a 0600 target's
	// contents are never readable by others.
	if o.to.info != nil {
		if err := f.Chmod(o.to.info.Mode().Perm()); err != nil {
			return err
		}
	}
	if err := write(f); err != nil {
		return err
	}
	// Sync so that after a crash the renamed file has its data.
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	o.temp = f.Name()
	return nil
}

// Commit renames every staged temporary over its target, in the order
// added. It fails, renaming nothing, if an output of the set was not
// written.
func (s *Set) Commit() error {
	for _, o := range s.outs {
		if !o.done && o.temp == "" {
			return fmt.Errorf("%s: not written", o.label)
		}
	}
	live.Lock()
	defer live.Unlock()
	if live.stopped {
		return errStopped
	}
	var errs []error
	for _, o := range s.outs {
		if o.temp == "" {
			continue
		}
		if len(errs) == 0 {
			if err := os.Rename(o.temp, o.to.path); err != nil {
				errs = append(errs, fmt.Errorf("%s: replacing it: %w", o.label, osfile.Unnamed(err)))
			}
		}
		if len(errs) > 0 {
			os.Remove(o.temp)
		}
		delete(live.paths, o.temp)
		o.temp, o.done = "", true
	}
	return errors.Join(errs...)
}

// Abort removes the temporaries of a set not committed; a no-op after
// Commit.
func (s *Set) Abort() {
	for _, o := range s.outs {
		if o.temp != "" {
			dropTemp(o.temp)
			o.temp = ""
		}
	}
}

// Drop takes o out of the set, removing its temporary if one is staged, so
// that Commit lands the other outputs: for an optional output (a plot)
// whose failure must not discard the results.
func (s *Set) Drop(o *Output) {
	s.outs = slices.DeleteFunc(s.outs, func(p *Output) bool { return p == o })
	if o.temp != "" {
		dropTemp(o.temp)
		o.temp = ""
	}
}
