package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/internal/extcase"
)

// TestScoreHeadEstimatorsCLI runs every conformance-ext estimators case
// through score, whole and resumed from a --state after the first batch,
// and feeds the KV-head scores to eval --group-size.
func TestScoreHeadEstimatorsCLI(t *testing.T) {
	cases, err := extcase.Estimators(filepath.Join("..", "..", "testdata", "conformance-ext"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.Dir), func(t *testing.T) {
			batches := extcase.BatchFiles(c.Dir, c.Batches)
			weight, tmp := filepath.Join(c.Dir, "W.npy"), t.TempDir()
			for _, tc := range []struct {
				method string
				flags  []string
				want   []float64
			}{
				{"kv-head-contribution", []string{"--heads", fmt.Sprint(c.Heads), "--kv-heads", fmt.Sprint(c.KVHeads)}, c.KVHead},
				{"layernorm-contribution", nil, c.LayerNorm},
			} {
				whole, state, resumed := filepath.Join(tmp, tc.method+".npy"), filepath.Join(tmp, tc.method+".state"), filepath.Join(tmp, tc.method+"-resumed.npy")
				args := append([]string{"score", "--method", tc.method, "--weight", weight, "--out", whole}, tc.flags...)
				if code, stdout, stderr := runCLI(t, append(args, batches...)...); code != 0 {
					t.Fatalf("%v: exit %d: %s%s", args, code, stderr, stdout)
				}
				got := readScores(t, whole, len(tc.want))
				for i, v := range got {
					if !within(float64(v)-tc.want[i], 1e-5*math.Abs(tc.want[i])) {
						t.Errorf("%s: score %d = %v, want %v", tc.method, i, v, tc.want[i])
					}
				}
				args = append([]string{"score", "--method", tc.method, "--weight", weight, "--state", state}, tc.flags...)
				if code, stdout, stderr := runCLI(t, append(args, batches[0])...); code != 0 {
					t.Fatalf("%v: exit %d: %s%s", args, code, stderr, stdout)
				}
				args = append([]string{"score", "--resume", state, "--weight", weight, "--out", resumed}, batches[1:]...)
				if code, stdout, stderr := runCLI(t, args...); code != 0 {
					t.Fatalf("%v: exit %d: %s%s", args, code, stderr, stdout)
				}
				if r := readScores(t, resumed, len(tc.want)); !sameBits(r, got) {
					t.Errorf("%s: resumed %v, whole %v", tc.method, r, got)
				}
			}
			// The KV-head scores prune whole KV groups.
			size := c.HeadDim * c.Heads / c.KVHeads
			args := append([]string{"eval", "--format", "json", "--weight", weight, "--scores", filepath.Join(tmp, "kv-head-contribution.npy"),
				"--ratio", "0.5", "--group-size", fmt.Sprint(size)}, batches...)
			code, stdout, stderr := runCLI(t, args...)
			var m evalJSON
			if code != 0 || json.Unmarshal([]byte(stdout), &m) != nil || m.NumPruned != size || m.NumPrunedGroups != 1 || m.GroupSize != size {
				t.Errorf("eval of the KV-head scores: exit %d: %s%s", code, stderr, stdout)
			}
		})
	}
}

// TestScoreHeadFlags checks that --heads and --kv-heads are refused where
// they do not apply and required where they do, in one line.
func TestScoreHeadFlags(t *testing.T) {
	f := newFixture(t) // a 6 → 5 layer
	out := filepath.Join(f.dir, "s.npy")
	score := func(extra ...string) []string {
		return append(append([]string{"score", "--weight", f.w, "--out", out}, extra...), f.x0)
	}
	errLine := regexp.MustCompile(`^chanprune: [^\n]+\n$`)
	for _, tc := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"heads for l2norm", score("--method", "l2norm", "--heads", "2"), "--heads: only --method kv-head-contribution takes it, not l2norm"},
		{"kv-heads for layernorm", score("--method", "layernorm-contribution", "--kv-heads", "2"), "--kv-heads: only --method kv-head-contribution"},
		{"no heads", score("--method", "kv-head-contribution"), "needs --heads Q and --kv-heads KV"},
		{"no kv-heads", score("--method", "kv-head-contribution", "--heads", "2"), "needs --heads Q and --kv-heads KV"},
		{"heads not dividing in", score("--method", "kv-head-contribution", "--heads", "4", "--kv-heads", "2"), "Heads dividing In = 6"},
		{"kv-heads not dividing heads", score("--method", "kv-head-contribution", "--heads", "3", "--kv-heads", "2"), "KVHeads dividing Heads"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line naming %q", code, stderr, stdout, tc.mention)
			}
		})
	}
	// With --resume the heads come from the state.
	state := filepath.Join(f.dir, "kv.state")
	if code, _, stderr := runCLI(t, "score", "--method", "kv-head-contribution", "--heads", "6", "--kv-heads", "3", "--weight", f.w, "--state", state, f.x0); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, _, stderr := runCLI(t, "score", "--resume", state, "--heads", "6", "--weight", f.w, "--out", out, f.x1)
	if code != 1 || !strings.Contains(stderr, "--heads: the options come from the state") {
		t.Errorf("--heads with --resume: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "score", "--resume", state, "--weight", f.w, "--out", out, f.x1); code != 0 || len(readScores(t, out, 3)) != 3 {
		t.Errorf("resume: exit %d, %q", code, stderr)
	}
}
