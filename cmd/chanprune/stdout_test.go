package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// fullWriter fails every write, as a full disk or a closed pipe does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A command whose stdout cannot be written exits 1 with one line, not 0:
// score, version, kernels and help printed without looking at the error.
func TestStdoutWriteError(t *testing.T) {
	f := newFixture(t)
	for _, args := range [][]string{
		{"score", "--method", "l2norm", "--weight", f.w, "--out", filepath.Join(f.dir, "s_out.npy"), f.x0},
		{"version"},
		{"kernels"},
		{"help"},
		{"help", "score"},
		{"eval", "--weight", f.w, "--scores", f.s, "--ratio", "0.5", f.x0},
	} {
		var stderr bytes.Buffer
		code := run(args, fullWriter{}, &stderr)
		if code != 1 || !errLine.MatchString(stderr.String()) || !strings.Contains(stderr.String(), "no space left on device") {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line on the write", args, code, stderr.String())
		}
	}
}
