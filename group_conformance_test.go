package chanprune

import (
	"path/filepath"
	"testing"

	"github.com/chanprune/chanprune/internal/extcase"
)

// TestGroupConformance runs every case of testdata/conformance-ext/groups
// with every kernel and method, through Evaluate and through a Sweep whose
// other ratios and score set share the pass.
func TestGroupConformance(t *testing.T) {
	cases, err := extcase.Groups("testdata/conformance-ext")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range cases {
		c, err := loadCase(g.Dir)
		if err != nil {
			t.Fatal(err)
		}
		reduce := ReduceMean
		if g.GroupReduce != nil {
			if reduce, err = ParseGroupReduce(*g.GroupReduce); err != nil {
				t.Fatal(err)
			}
		}
		check := func(t *testing.T, call string, m Metrics) {
			t.Helper()
			if err := c.check(m); err != nil {
				t.Errorf("%s: %v", call, err)
			}
			if m.NumPrunedGroups != g.NumPrunedGroups || m.GroupSize != g.GroupSize {
				t.Errorf("%s: %d groups of %d pruned, want %d of %d", call, m.NumPrunedGroups, m.GroupSize, g.NumPrunedGroups, g.GroupSize)
			}
		}
		t.Run(filepath.Base(g.Dir), func(t *testing.T) {
			eachKernelMethod(t, c.layer, func(t *testing.T, opts ...Option) {
				e, err := NewEvaluator(c.layer, append(opts, WithGroups(g.GroupSize, reduce))...)
				if err != nil {
					t.Fatal(err)
				}
				m, err := e.Evaluate(c.batches, c.scores, c.Ratio)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "Evaluate", m)
				flat := make([]float32, len(c.scores))
				points, err := e.Sweep(c.batches, []ScoreSet{{"flat", flat}, {"case", c.scores}}, []float64{1, c.Ratio, 0})
				if err != nil {
					t.Fatal(err)
				}
				check(t, "Sweep", points[4].Metrics)
			})
		})
	}
}
