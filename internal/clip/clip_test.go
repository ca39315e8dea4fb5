package clip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValue(t *testing.T) {
	short := strings.Repeat("a", maxLen)
	if got := Value(short); got != short {
		t.Errorf("a value of %d bytes was cut: %q", maxLen, got)
	}
	long := "dir/" + strings.Repeat("x", 10<<20) + "/weight.npy"
	got := Value(long)
	if len(got) > 200 || !strings.HasPrefix(got, "dir/xxx") || !strings.Contains(got, "…") ||
		!strings.HasSuffix(got, "x/weight.npy (10485775 bytes)") {
		t.Errorf("10 MB value: %q", got)
	}
	// Cut in the middle of multi-byte runes: still valid UTF-8.
	for shift := range 4 {
		s := strings.Repeat("a", shift) + strings.Repeat("é€", 200)
		if got := Value(s); !utf8.ValidString(got) || len(got) > head+tail+40 {
			t.Errorf("shift %d: %q is not valid UTF-8 or too long", shift, got)
		}
	}
}
