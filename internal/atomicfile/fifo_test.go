//go:build unix

package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A FIFO is written directly, never replaced; with no reader the write
// fails at once instead of hanging.
func TestWriteFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs:", err)
	}
	done := make(chan error)
	go func() { done <- Write(fifo, writeString("x")) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a FIFO with no reader: no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("writing a FIFO with no reader hangs")
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := Write(fifo, writeString("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(r); err != nil || string(b) != "through the pipe" {
		t.Errorf("read %q, %v", b, err)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode().Type() != os.ModeNamedPipe {
		t.Errorf("the FIFO was replaced: %v %v", st.Mode(), err)
	}
}
