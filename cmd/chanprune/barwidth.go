package main

import (
	"io"
	"strconv"
	"strings"

	"github.com/rivo/uniseg"
)

// barLayout is what one bar line holds: the bar's width in columns, and
// whether the count (n/total) and the elapsed:ETA times show.
type barLayout struct {
	width        int
	count, times bool
}

// The bar's width in columns: it shrinks to minBar before the times and
// then the count give way, and grows to at most maxBar.
const minBar, maxBar = 10, 40

// labelRoom is the columns a bar keeps for its label, which Describe may
// change while it runs (report names each layer).
func labelRoom(columns int) int { return columns / 4 }

// fitLabel cuts a label wider than room columns to its end, where layer
// names differ, after an ellipsis. Widths are display columns (a CJK
// character takes two, a combining mark none), counted by grapheme.
func fitLabel(label string, room int) string {
	if uniseg.StringWidth(label) <= room {
		return label
	}
	if room < 1 {
		return ""
	}
	var clusters []string
	var widths []int
	for g := uniseg.NewGraphemes(label); g.Next(); {
		clusters, widths = append(clusters, g.Str()), append(widths, g.Width())
	}
	start, used := len(clusters), 1 // the ellipsis
	for start > 0 && used+widths[start-1] <= room {
		start--
		used += widths[start]
	}
	return "…" + strings.Join(clusters[start:], "")
}

// layoutBar fits a line "LABEL 30% |███   | (3/10) [1m2s:2m4s]" into
// columns-1 columns (the last left free: some terminals wrap on it).
// Times longer than the room kept for them are cut by clipWriter.
func layoutBar(columns, total int) barLayout {
	room := columns - 1 - labelRoom(columns) - len(" 100% || ")
	count := len(" (/)") + 2*len(strconv.Itoa(total))
	times := len(" [59m59s:59m59s]")
	var l barLayout
	if room-count >= minBar {
		l.count, room = true, room-count
	}
	if l.count && room-times >= minBar {
		l.times, room = true, room-times
	}
	l.width = min(max(room, 1), maxBar)
	return l
}

// clipWriter cuts every line a bar draws (the text after a carriage
// return or newline) to one column less than the terminal has at that
// moment, so that a redraw never wraps, even after the terminal narrows.
// A bar writes plain text: no escape sequences to step over. It is used
// behind a delayWriter, which serialises the writes.
type clipWriter struct {
	w       io.Writer
	columns func() int
	column  int // display columns used on the current line
}

func (c *clipWriter) Write(b []byte) (int, error) {
	last := c.columns() - 1
	out := make([]byte, 0, len(b))
	for g := uniseg.NewGraphemes(string(b)); g.Next(); {
		cluster := g.Str()
		if strings.ContainsAny(cluster, "\r\n") {
			c.column = 0
		} else if c.column += g.Width(); c.column > last {
			continue
		}
		out = append(out, cluster...)
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
