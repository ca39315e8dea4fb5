//go:build unix

package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A named pipe given as a batch, a weight, a manifest or a state is refused at once
// with one line naming it, where opening it waited for a writer forever.
func TestNamedPipeArguments(t *testing.T) {
	f := newFixture(t)
	dir, layers := newReportFixture(t)
	fifo := filepath.Join(t.TempDir(), "fifo.npy")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	manifestFifo := filepath.Join(t.TempDir(), "fifo.json")
	if err := syscall.Mkfifo(manifestFifo, 0o600); err != nil {
		t.Fatal(err)
	}
	l0 := layers[0]
	l0.batches = []string{l0.batches[0], fifo}
	withFifo := writeBytes(t, dir, "fifo-batch.json", []byte(`{"layers": [`+l0.json()+"]}"))
	for _, tc := range []struct {
		name string
		args []string
		path string
	}{
		{"batch", f.args("0.5", f.x0, fifo), fifo},
		{"weight", []string{"eval", "--weight", fifo, "--scores", f.s, "--ratio", "0.5", f.x0}, fifo},
		{"manifest", []string{"report", manifestFifo}, manifestFifo},
		{"manifest batch", []string{"report", withFifo}, fifo},
		{"state", []string{"score", "--resume", fifo, "--weight", f.w, "--out", filepath.Join(f.dir, "s.npy"), f.x0}, fifo},
	} {
		type result struct {
			code           int
			stdout, stderr string
		}
		done := make(chan result, 1)
		go func() {
			code, stdout, stderr := runCLI(t, tc.args...)
			done <- result{code, stdout, stderr}
		}()
		select {
		case r := <-done:
			if r.code != 1 || !errLine.MatchString(r.stderr) || !strings.Contains(r.stderr, "a named pipe, not a regular file") ||
				!strings.Contains(r.stderr, tc.path) {
				t.Errorf("%s: exit %d, %q; want exit 1 and one line naming %s as a named pipe", tc.name, r.code, r.stderr, tc.path)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: a named pipe still waited on after 10s", tc.name)
		}
	}
}
