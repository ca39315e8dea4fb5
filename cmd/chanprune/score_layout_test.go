package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chanprune/chanprune"
)

// A batch-first batch scored with --layout batch-first gives l2norm's
// scores of its transpose scored seq-first, the default, and not those of
// the same file read seq-first; every other estimator, which treats all
// tokens alike, writes bitwise the same scores under either layout.
func TestScoreLayout(t *testing.T) {
	f := newFixture(t) // x0 is [2, 3, 6]: batch 2, seq 3 as a Hugging Face hook saves it
	x := fill(36, func(i int) float32 { return float32(i%5) - 2 + float32(i%7)/8 })
	xBatchFirst := writeNpy(t, f.dir, "bf.npy", []int{2, 3, 6}, x)
	xSeqFirst := writeNpy(t, f.dir, "sf.npy", []int{3, 2, 6}, fill(36, func(i int) float32 {
		s, b, c := i/12, i/6%2, i%6
		return x[(b*3+s)*6+c]
	}))
	score := func(method, batch string, layout ...string) []float32 {
		out := filepath.Join(f.dir, "s.npy")
		args := append([]string{"score", "--method", method, "--weight", f.w, "--bias", f.b, "--out", out}, layout...)
		if method == "kv-head-contribution" { // one head per channel: 6 scores
			args = append(args, "--heads", "6", "--kv-heads", "6")
		}
		if code, stdout, stderr := runCLI(t, append(args, batch, f.x1)...); code != 0 {
			t.Fatalf("%v: exit %d: %s\n%s", args, code, stderr, stdout)
		}
		return readScores(t, out, 6)
	}
	for _, method := range chanprune.EstimatorNames() {
		batchFirst := score(method, xBatchFirst, "--layout", "batch-first")
		sameFile := score(method, xBatchFirst, "--layout", "seq-first")
		if method != "l2norm" {
			if !sameBits(batchFirst, sameFile) {
				t.Errorf("%s: --layout batch-first %v, seq-first %v: want the same bits", method, batchFirst, sameFile)
			}
			continue
		}
		if transposed := score(method, xSeqFirst); !sameBits(batchFirst, transposed) {
			t.Errorf("l2norm: --layout batch-first %v, the transpose seq-first %v: want the same bits", batchFirst, transposed)
		}
		if sameBits(batchFirst, sameFile) {
			t.Errorf("l2norm: the same file scores %v under either layout: want them to differ", batchFirst)
		}
	}
}

// A state saved batch-first resumes only with --layout batch-first given
// again, and then continues the run that was never interrupted.
func TestScoreResumeLayout(t *testing.T) {
	f := newFixture(t)
	state, whole, part := filepath.Join(f.dir, "l2.json"), filepath.Join(f.dir, "whole.npy"), filepath.Join(f.dir, "part.npy")
	layer := []string{"--weight", f.w, "--bias", f.b, "--layout", "batch-first"}
	for _, args := range [][]string{
		append(append([]string{"score", "--method", "l2norm", "--out", whole}, layer...), f.x0, f.x1),
		append(append([]string{"score", "--method", "l2norm", "--state", state}, layer...), f.x0),
	} {
		if code, stdout, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s\n%s", args, code, stderr, stdout)
		}
	}
	code, _, stderr := runCLI(t, "score", "--resume", state, "--weight", f.w, "--bias", f.b, "--out", part, f.x1)
	if code != 1 || !strings.Contains(stderr, "--layout seq-first: --resume "+state+" read its batches batch-first: give --layout batch-first") {
		t.Fatalf("resuming a batch-first state without --layout: exit %d, %q: want a refusal naming both layouts", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, append(append([]string{"score", "--resume", state, "--out", part}, layer...), f.x1)...); code != 0 {
		t.Fatalf("resuming with --layout batch-first: exit %d: %s\n%s", code, stderr, stdout)
	}
	if a, b := readScores(t, whole, 6), readScores(t, part, 6); !sameBits(a, b) {
		t.Errorf("resumed %v, uninterrupted %v", b, a)
	}
}
