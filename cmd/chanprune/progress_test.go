package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rivo/uniseg"
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

	p := newBar(&buf, 10, "layer a", columns(80), clock, 0)
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
	q := newBar(&buf, 10, "quick", columns(80), clock, 0)
	q.Add(4)
	q.Add(6)
	now = now.Add(10 * progressDelay)
	q.Finish()
	if buf.Len() != 0 {
		t.Errorf("quick work drew %q", buf.String())
	}
}

// columns is a terminal of a fixed width.
func columns(c int) func() int { return func() int { return c } }

// lines splits what a bar wrote into the lines a terminal shows, each
// begun by a carriage return or a newline.
func lines(out string) []string {
	return strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' })
}

func TestProgressFitsWidth(t *testing.T) {
	long := "model.layers.17.mlp.down_proj"
	for _, c := range []int{120, 80, 40, 20, 8} {
		now := time.Unix(1e9, 0)
		var buf bytes.Buffer
		p := newBar(&buf, 1000, "batches", columns(c), func() time.Time { return now }, 0)
		now = now.Add(2 * progressDelay)
		for range 10 {
			p.Add(37)
		}
		p.Describe(long)
		p.Add(300)
		p.Finish()
		widest := 0
		for _, l := range lines(buf.String()) {
			n := utf8.RuneCountInString(l)
			widest = max(widest, n)
			if n >= c {
				t.Errorf("%d columns: a line of %d: %q", c, n, l)
			}
		}
		if c >= 40 && !strings.Contains(buf.String(), "%") {
			t.Errorf("%d columns: no percentage in %q", c, buf.String())
		}
		if c >= 80 && widest < c*3/4 {
			t.Errorf("%d columns: the widest line has %d, want the bar to use the width", c, widest)
		}
		// 120 columns keep 30 for the label: all of it.
		if want := map[int]string{120: long, 80: "…rs.17.mlp.down_proj"}[c]; !strings.Contains(buf.String(), want) {
			t.Errorf("%d columns: the label is not %q: %q", c, want, buf.String())
		}
	}
}

// TestProgressNarrows checks that a terminal narrowed while a bar runs
// gets lines that fit it.
func TestProgressNarrows(t *testing.T) {
	now := time.Unix(1e9, 0)
	c := 120
	var buf bytes.Buffer
	p := newBar(&buf, 100, "batches", func() int { return c }, func() time.Time { return now }, 0)
	now = now.Add(2 * progressDelay)
	p.Add(10)
	c = 30
	n := buf.Len()
	p.Add(10)
	p.Finish()
	for _, l := range lines(buf.String()[n:]) {
		if utf8.RuneCountInString(l) >= c {
			t.Errorf("after narrowing to %d columns a line of %d: %q", c, utf8.RuneCountInString(l), l)
		}
	}
}

func TestLayoutBar(t *testing.T) {
	for _, tc := range []struct {
		columns, total int
		want           barLayout
	}{
		{200, 100, barLayout{maxBar, true, true}},
		{80, 100, barLayout{80 - 1 - 20 - 9 - 10 - 16, true, true}},
		{40, 100, barLayout{40 - 1 - 10 - 9 - 10, true, false}},
		{28, 100, barLayout{28 - 1 - 7 - 9, false, false}},
		{8, 100, barLayout{1, false, false}},
	} {
		if got := layoutBar(tc.columns, tc.total); got != tc.want {
			t.Errorf("layoutBar(%d, %d) = %+v, want %+v", tc.columns, tc.total, got, tc.want)
		}
	}
}

// TestProgressWideLabel: a label of double-width characters (layer names
// in CJK) and combining marks is fitted by display columns, not runes, so
// that no line wraps.
func TestProgressWideLabel(t *testing.T) {
	label := strings.Repeat("模型.第十七层.多层感知器.下投影.", 3) + "cafe\u0301"
	for _, c := range []int{120, 80, 40, 20} {
		now := time.Unix(1e9, 0)
		var buf bytes.Buffer
		p := newBar(&buf, 100, "batches", columns(c), func() time.Time { return now }, 0)
		now = now.Add(2 * progressDelay)
		p.Describe(label)
		p.Add(40)
		p.Finish()
		for _, l := range lines(buf.String()) {
			if w := uniseg.StringWidth(l); w >= c {
				t.Errorf("%d columns: a line %d columns wide: %q", c, w, l)
			}
		}
	}
	if got := fitLabel(label, 9); uniseg.StringWidth(got) > 9 || !strings.HasSuffix(got, "e\u0301") {
		t.Errorf("fitLabel to 9 columns: %q (%d columns), want the tail with its combining mark", got, uniseg.StringWidth(got))
	}
}
