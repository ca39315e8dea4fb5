//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGTERM, SIGINT or SIGHUP while outputs are staged removes the
// temporaries and exits 143, 130 or 129 with one line; under nohup a
// SIGHUP is ignored, and the SIGTERM after it ends the run. The run is held at the staged point
// without a test hook: --state is staged first, then the scores go to a
// FIFO whose reader never reads, so the write blocks once the pipe is full.
func TestSignalRemovesTemporaries(t *testing.T) {
	if binPath == "" {
		t.Skip("no built command to signal")
	}
	const in = 100_000 // scores of 400 kB, more than a pipe holds
	dir := t.TempDir()
	w := writeNpy(t, dir, "W.npy", []int{1, in}, fill(in, func(i int) float32 { return 1 }))
	x := writeNpy(t, dir, "x.npy", []int{2, in}, fill(2*in, func(i int) float32 { return float32(i % 7) }))
	fifo := filepath.Join(dir, "scores.npy")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs:", err)
	}
	state := filepath.Join(dir, "state.json")
	// The children must start with SIGHUP and SIGINT at their defaults: a
	// run under nohup or in a script's background ignores them, and the
	// binary keeps a signal it was started ignoring. Caught here, they are
	// reset in the children (exec keeps ignored signals, not caught ones).
	caught := make(chan os.Signal, 1)
	signal.Notify(caught, syscall.SIGHUP, syscall.SIGINT)
	defer signal.Stop(caught)
	nohup, _ := exec.LookPath("nohup")
	for _, tc := range []struct {
		sig    []syscall.Signal // sent in turn
		code   int
		prefix []string // the command before the binary
	}{
		{[]syscall.Signal{syscall.SIGTERM}, 143, nil},
		{[]syscall.Signal{syscall.SIGINT}, 130, nil},
		{[]syscall.Signal{syscall.SIGHUP}, 129, nil},
		{[]syscall.Signal{syscall.SIGHUP, syscall.SIGTERM}, 143, []string{nohup}},
	} {
		if len(tc.prefix) > 0 && nohup == "" {
			t.Log("no nohup: its case skipped")
			continue
		}
		r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		args := append(tc.prefix, binPath, "score", "--method", "l2norm", "--weight", w, "--state", state, "--out", fifo, x)
		cmd := exec.Command(args[0], args[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !waitFor(func() bool { return len(temporaries(dir)) > 0 }) {
			cmd.Process.Kill()
			t.Fatalf("no temporary appeared: %s", stderr.String())
		}
		for i, sig := range tc.sig {
			if i > 0 {
				time.Sleep(200 * time.Millisecond) // time for the one before to act, if it would
			}
			cmd.Process.Signal(sig)
		}
		err = waitAtMost(cmd, 10*time.Second)
		r.Close()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != tc.code {
			t.Errorf("%v: %v, want exit status %d", tc.sig, err, tc.code)
		}
		if !errLine.MatchString(stderr.String()) || !strings.Contains(stderr.String(), "stopped") {
			t.Errorf("%v: stderr %q, want one line", tc.sig, stderr.String())
		}
		if tmp := temporaries(dir); len(tmp) > 0 {
			t.Errorf("%v: temporaries left: %v", tc.sig, tmp)
		}
		if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v: --state landed from a stopped run", tc.sig)
		}
	}
}

// waitAtMost waits for cmd for up to d, then kills it: a run that ignores
// the signal fails the test rather than hanging it.
func waitAtMost(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("still running %v after the signal", d)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}
