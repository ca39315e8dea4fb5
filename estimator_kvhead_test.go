package chanprune

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chanprune/chanprune/internal/extcase"
	"github.com/chanprune/chanprune/tensorfile"
)

// TestHeadEstimatorConformance checks kv-head-contribution and
// layernorm-contribution against every case of
// testdata/conformance-ext/estimators, to its relative 1e-5 per score.
func TestHeadEstimatorConformance(t *testing.T) {
	cases, err := extcase.Estimators("testdata/conformance-ext")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.Dir), func(t *testing.T) {
			w, err := tensorfile.Read(tensorfile.Ref{Path: filepath.Join(c.Dir, "W.npy")})
			if err != nil {
				t.Fatal(err)
			}
			l := Linear{Weight: w.Data, Out: w.Shape[0], In: w.Shape[1]}
			if l.In != c.Heads*c.HeadDim {
				t.Fatalf("W is %v, want %d·%d inputs", w.Shape, c.Heads, c.HeadDim)
			}
			var batches []shaped
			for _, f := range extcase.BatchFiles(c.Dir, c.Batches) {
				x, err := tensorfile.Read(tensorfile.Ref{Path: f})
				if err != nil {
					t.Fatal(err)
				}
				batches = append(batches, shaped{x.Data, x.Shape})
			}
			for _, tc := range []struct {
				name string
				opts EstimatorOptions
				want []float64
			}{
				{"kv-head-contribution", EstimatorOptions{Heads: c.Heads, KVHeads: c.KVHeads}, c.KVHead},
				{"layernorm-contribution", EstimatorOptions{}, c.LayerNorm},
			} {
				e := mustEstimator(t, tc.name, l, tc.opts)
				observeAll(t, e, batches)
				checkScoresNear(t, tc.name, mustScores(t, e), tc.want, 1e-5)
			}
		})
	}
}

func checkScoresNear(t *testing.T, what string, got []float32, want []float64, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d scores, want %d", what, len(got), len(want))
	}
	for i, v := range got {
		if !closeTo(v, want[i], rel) {
			t.Errorf("%s: score %d = %v, want %v", what, i, v, want[i])
		}
	}
}

// kvHeadReference is kv-head-contribution computed directly in float64.
func kvHeadReference(l Linear, kv int, batches []shaped) []float64 {
	size := l.In / kv
	sum := make([]float64, kv)
	for _, b := range batches {
		tokens := len(b.x) / l.In
		for g := range kv {
			var mean float64
			for t := range tokens {
				var ss float64
				for o := range l.Out {
					var y float64
					for j := g * size; j < (g+1)*size; j++ {
						y += float64(b.x[t*l.In+j]) * float64(l.Weight[o*l.In+j])
					}
					ss += y * y
				}
				mean += math.Sqrt(ss)
			}
			sum[g] += mean / float64(tokens)
		}
	}
	return sum
}

// TestKVHeadContributionReference checks kv-head-contribution against a
// direct float64 computation on grouped-query (several query heads per KV
// head), multi-head (one each) and multi-query (one KV head) shapes, and
// layernorm-contribution against its own.
func TestKVHeadContributionReference(t *testing.T) {
	r := newRand(71)
	for _, tc := range []struct{ in, out, heads, kv int }{
		{48, 20, 8, 2},  // GQA, head_dim 6
		{96, 33, 4, 2},  // GQA, head_dim 24
		{36, 17, 6, 6},  // MHA
		{40, 9, 8, 1},   // MQA
		{130, 70, 5, 5}, // MHA, head_dim 26
	} {
		t.Run(fmt.Sprintf("%dx%d_%dq_%dkv", tc.in, tc.out, tc.heads, tc.kv), func(t *testing.T) {
			l := randLayer(r, tc.in, tc.out, true)
			batches := randShaped(r, nil, []int{3, 2, tc.in}, []int{7, tc.in}, []int{1, 1, tc.in})
			e := mustEstimator(t, "kv-head-contribution", l, EstimatorOptions{Heads: tc.heads, KVHeads: tc.kv})
			observeAll(t, e, batches)
			checkScoresNear(t, "kv-head-contribution", mustScores(t, e), kvHeadReference(l, tc.kv, batches), 1e-5)

			want := make([]float64, tc.in)
			for _, b := range batches {
				tokens := len(b.x) / tc.in
				for i, v := range b.x {
					want[i%tc.in] += math.Abs(float64(v)) / float64(tokens)
				}
			}
			ln := mustEstimator(t, "layernorm-contribution", l, EstimatorOptions{})
			observeAll(t, ln, batches)
			checkScoresNear(t, "layernorm-contribution", mustScores(t, ln), want, 1e-6)
		})
	}
}

// TestKVHeadContributionResume checks that a GQA run saved and resumed
// midway gives the uninterrupted run's scores bit for bit, and that a
// state whose sums are not one per KV group is refused.
func TestKVHeadContributionResume(t *testing.T) {
	r := newRand(72)
	l := randLayer(r, 32, 12, false)
	opts := EstimatorOptions{Heads: 8, KVHeads: 4}
	batches := randShaped(r, nil, []int{4, 32}, []int{2, 3, 32}, []int{5, 32})
	whole := mustEstimator(t, "kv-head-contribution", l, opts)
	observeAll(t, whole, batches)
	part := mustEstimator(t, "kv-head-contribution", l, opts)
	observeAll(t, part, batches[:1])
	var buf bytes.Buffer
	if err := part.Save(&buf); err != nil {
		t.Fatal(err)
	}
	resumed, err := LoadEstimator(bytes.NewReader(buf.Bytes()), l)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Options() != part.Options() {
		t.Errorf("resumed options %+v, saved %+v", resumed.Options(), part.Options())
	}
	observeAll(t, resumed, batches[1:])
	if a, b := mustScores(t, whole), mustScores(t, resumed); !slices.Equal(a, b) || len(a) != 4 {
		t.Errorf("resumed %v, whole %v", b, a)
	}
	bad := stateWith(t, part, func(m map[string]any) { m["state"].(map[string]any)["sum"] = []float64{1, 2, 3} })
	if _, err := LoadEstimator(strings.NewReader(bad), l); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "KVHeads = 4") {
		t.Errorf("a state of 3 sums for 4 KV groups: %v", err)
	}
}
