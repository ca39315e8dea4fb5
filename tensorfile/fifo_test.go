//go:build unix

package tensorfile

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A named pipe with no writer is refused at once, not waited on: opening
// it for reading would block until a writer comes, reading it until the
// writer closes.
func TestNamedPipeRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo.npy")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	for name, open := range map[string]func() error{
		"Read":        func() error { _, err := Read(ParseRef(path)); return err },
		"Keys":        func() error { _, err := Keys(path); return err },
		"OpenBatches": func() error { _, err := OpenBatches([]string{path + "#x"}, false); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- open() }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "named pipe") || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: %v, want ErrNotRegular naming a named pipe and %s", name, err, path)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s of a named pipe still waits after 5s", name)
		}
	}
}
