package main

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// A forced Gram method on a weight that annihilates its activations
// (all ones; each row half +1, half −1, plus noise) warns in one line on
// stderr; auto redoes the batch directly and says nothing.
func TestGramUncertifiedWarns(t *testing.T) {
	const in, out, tokens = 32, 64, 64
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(10, 14))
	x := make([]float32, tokens*in)
	for row := range tokens {
		for i, c := range r.Perm(in) {
			s := float32(1)
			if c < in/2 {
				s = -1
			}
			x[row*in+i] = s + float32(1e-3*r.NormFloat64())
		}
	}
	w := writeNpy(t, dir, "W.npy", []int{out, in}, fill(out*in, func(int) float32 { return 1 }))
	s := writeNpy(t, dir, "s.npy", []int{in}, fill(in, func(i int) float32 { return float32(i * 7 % in) }))
	xp := writeNpy(t, dir, "x.npy", []int{tokens, in}, x)
	for _, c := range []struct {
		args []string
		warn bool
	}{
		{[]string{"eval", "--weight", w, "--scores", s, "--ratio", "0.5", "--method", "gram", xp}, true},
		{[]string{"eval", "--weight", w, "--scores", s, "--ratio", "0.5", "--method", "auto", xp}, false},
		{[]string{"sweep", "--quiet", "--weight", w, "--scores", "s=" + s, "--ratios", "0.25,0.5", "--method", "gram", xp}, true},
	} {
		code, _, stderr := runCLI(t, c.args...)
		lines := strings.Count(stderr, "\n")
		if code != 0 || (c.warn && (lines != 1 || !strings.Contains(stderr, "could not certify"))) || (!c.warn && stderr != "") {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, stderr)
		}
	}
}
