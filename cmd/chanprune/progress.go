package main

import (
	"flag"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressOut is where progress bars go: the stderr that run was given.
var progressOut io.Writer = os.Stderr

// progressDelay is how long work runs before its bar shows: quicker work
// shows none.
const progressDelay = time.Second

// quietFlag registers --quiet, taken by every command that reads batches.
func quietFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("quiet", false, "show no progress bar")
}

// progress counts the steps of a long piece of work.
type progress interface {
	Add(n int)
	Describe(label string) // what is in progress now
	Finish()               // erase the bar; safe to call more than once
}

// newProgress returns a bar of total steps on w, drawn only when enabled,
// w is a terminal and the work lasts longer than progressDelay; otherwise
// a progress that does nothing. The bar fits the terminal's width.
func newProgress(w io.Writer, total int, label string, enabled bool) progress {
	f, ok := w.(*os.File)
	if !enabled || total <= 0 || !ok || !term.IsTerminal(int(f.Fd())) {
		return noProgress{}
	}
	columns := func() int {
		if c, _, err := term.GetSize(int(f.Fd())); err == nil && c > 0 {
			return c
		}
		return 80
	}
	return newBar(w, total, label, columns, time.Now, 100*time.Millisecond)
}

type noProgress struct{}

func (noProgress) Add(int)         {}
func (noProgress) Describe(string) {}
func (noProgress) Finish()         {}

// bar draws a progressbar through a delayWriter, so that the bar's rate
// and ETA count from the start while nothing shows before progressDelay.
type bar struct {
	b         *progressbar.ProgressBar
	gate      *delayWriter
	labelRoom int
}

// newBar lays the bar out for the terminal's columns when it starts and
// clips every redraw to the columns there are then.
func newBar(w io.Writer, total int, label string, columns func() int, now func() time.Time, throttle time.Duration) *bar {
	gate := &delayWriter{w: &clipWriter{w: w, columns: columns}, now: now, from: now().Add(progressDelay)}
	c := columns()
	l, room := layoutBar(c, total), labelRoom(c)
	b := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(gate),
		progressbar.OptionSetDescription(fitLabel(label, room)),
		progressbar.OptionSetWidth(l.width),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(l.times),
		progressbar.OptionSetElapsedTime(l.times),
		progressbar.OptionThrottle(throttle),
		progressbar.OptionClearOnFinish(),
	)
	b.StartWithoutRender() // the rate and ETA count from now
	return &bar{b, gate, room}
}

func (p *bar) Add(n int) { p.b.Add(n) }

func (p *bar) Describe(label string) { p.b.Describe(fitLabel(label, p.labelRoom)) }

func (p *bar) Finish() {
	if p.gate.close() {
		p.b.Clear()
	}
	p.gate.mute()
}

// delayWriter drops writes until the clock passes from, and all writes
// once closed before then.
type delayWriter struct {
	mu           sync.Mutex
	w            io.Writer
	now          func() time.Time
	from         time.Time
	open, closed bool
}

func (d *delayWriter) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.open && !d.closed && !d.now().Before(d.from) {
		d.open = true
	}
	if !d.open {
		return len(b), nil
	}
	return d.w.Write(b)
}

// close reports whether anything was written, and keeps the writer from
// opening later.
func (d *delayWriter) close() (shown bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return d.open
}

// mute drops every later write.
func (d *delayWriter) mute() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed, d.open = true, false
}
