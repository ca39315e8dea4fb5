package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestProgressSilentWithoutTerminal(t *testing.T) {
	var buf bytes.Buffer
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, w := range []io.Writer{&buf, f, nil} {
		for _, enabled := range []bool{true, false} {
			p := newProgress(w, 10, "work", enabled)
			if _, ok := p.(noProgress); !ok {
				t.Errorf("newProgress(%T, enabled %v) = %T, want noProgress", w, enabled, p)
			}
			p.Describe("more work")
			p.Add(10)
			p.Finish()
		}
	}
	if st, _ := f.Stat(); buf.Len() != 0 || st.Size() != 0 {
		t.Errorf("wrote %q and %d bytes", buf.String(), st.Size())
	}
}

func TestProgressDelay(t *testing.T) {
	now := time.Unix(1e9, 0)
	clock := func() time.Time { return now }
	var buf bytes.Buffer

	p := newBar(&buf, 10, "layer a", clock, 0)
	p.Add(1)
	now = now.Add(progressDelay - time.Millisecond)
	p.Add(1)
	if buf.Len() != 0 {
		t.Fatalf("drawn before the delay: %q", buf.String())
	}
	now = now.Add(2 * time.Millisecond)
	p.Add(1)
	if out := buf.String(); !strings.Contains(out, "layer a") || !strings.Contains(out, "3/10") {
		t.Errorf("after the delay the bar shows %q, want the label and 3/10", out)
	}
	p.Describe("layer b")
	p.Add(1)
	if out := buf.String(); !strings.Contains(out, "layer b") || !strings.Contains(out, "4/10") {
		t.Errorf("after Describe the bar shows %q", out)
	}
	n := buf.Len()
	p.Finish()
	if buf.Len() == n {
		t.Errorf("Finish did not erase the bar: %q", buf.String()[n:])
	}
	n = buf.Len()
	p.Add(1)
	p.Finish()
	if buf.Len() != n {
		t.Errorf("wrote %q after Finish", buf.String()[n:])
	}

	// Work that ends before the delay shows nothing, however late Finish
	// comes.
	buf.Reset()
	q := newBar(&buf, 10, "quick", clock, 0)
	q.Add(4)
	q.Add(6)
	now = now.Add(10 * progressDelay)
	q.Finish()
	if buf.Len() != 0 {
		t.Errorf("quick work drew %q", buf.String())
	}
}
