package main

import (
	"strings"
	"testing"
)

// kernels --peak itself takes seconds (it writes a 1 GiB buffer), so the
// tests cover its parts: the buffer sizes and the flag check.
func TestBandwidthBuffers(t *testing.T) {
	bufs := bandwidthBuffers(3)
	if len(bufs) != 3 || bufs[1].bytes != 16<<20 || bufs[2].bytes != 1<<30 {
		t.Fatalf("buffers %v, want L2, 16 MiB, 1 GiB", bufs)
	}
	if l2 := bufs[0]; l2.bytes <= 0 || l2.bytes%3 != 0 || !strings.HasPrefix(l2.name, "L2: ") {
		t.Errorf("L2 buffer %v: want a positive share a worker for 3 workers", l2)
	}
}

func TestKernelsWindow(t *testing.T) {
	if code, _, stderr := runCLI(t, "kernels", "--peak", "--window", "0s"); code != 1 || !errLine.MatchString(stderr) {
		t.Errorf("kernels --window 0s: exit %d, %q", code, stderr)
	}
}
