package main

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A state whose token count the next batch would wrap: refused with one
// line, and no scores written, where the wrapped count gave NaN scores.
func TestScoreResumeHostileState(t *testing.T) {
	f := newFixture(t)
	state, out := filepath.Join(f.dir, "state.json"), filepath.Join(f.dir, "scores.npy")
	layer := []string{"--weight", f.w, "--bias", f.b}
	if code, _, stderr := runCLI(t, append(append([]string{"score", "--method", "wanda-sp", "--state", state}, layer...), f.x0)...); code != 0 {
		t.Fatalf("saving the state: exit %d: %s", code, stderr)
	}
	raw, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	tokens := regexp.MustCompile(`"tokens":\d+`)
	if !tokens.Match(raw) {
		t.Fatalf("no token count in the state: %s", raw)
	}
	writeBytes(t, f.dir, "state.json", tokens.ReplaceAll(raw, []byte(`"tokens":`+strconv.Itoa(math.MaxInt))))
	code, _, stderr := runCLI(t, append(append([]string{"score", "--resume", state, "--out", out}, layer...), f.x1)...)
	if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "overflow the token count") {
		t.Errorf("exit %d, %q; want exit 1 and one line on the token count", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("scores written from a state that overflows: %v", err)
	}
}
