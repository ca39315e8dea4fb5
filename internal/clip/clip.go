// Package clip cuts the values an error message quotes (file references,
// keys, names read from a file) to a length one line can carry: a
// hostile or mistaken 10 MB argument must not come back whole on stderr.
package clip

import (
	"fmt"
	"unicode/utf8"
)

const (
	// maxLen is the longest value kept whole: longer than any real path
	// or tensor name, short enough for one line.
	maxLen = 256
	// head and tail are the bytes a longer value keeps of its start and
	// end (a path's end names its file).
	head, tail = 100, 60
)

// Value returns s, or for s longer than maxLen bytes its first and last
// bytes around an ellipsis and its length, cut at UTF-8 rune boundaries.
func Value(s string) string {
	if len(s) <= maxLen {
		return s
	}
	i, j := head, len(s)-tail
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	for j < len(s) && !utf8.RuneStart(s[j]) {
		j++
	}
	return fmt.Sprintf("%s…%s (%d bytes)", s[:i], s[j:], len(s))
}
