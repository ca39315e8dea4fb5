package chanprune

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// groupCase is one folder of testdata/conformance-ext/groups: a
// conformance case whose scores are per group, or per channel reduced.
type groupCase struct {
	*conformanceCase
	GroupSize       int     `json:"group_size"`
	GroupReduce     *string `json:"group_reduce"` // nil: one score per group
	NumPrunedGroups int     `json:"num_pruned_groups"`
}

func (c *groupCase) option(t testing.TB) Option {
	reduce := ReduceMean
	if c.GroupReduce != nil {
		var err error
		if reduce, err = ParseGroupReduce(*c.GroupReduce); err != nil {
			t.Fatal(err)
		}
	}
	return WithGroups(c.GroupSize, reduce)
}

func groupCases(t testing.TB) map[string]*groupCase {
	dirs, err := filepath.Glob("testdata/conformance-ext/groups/*/case.json")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no group cases found: %v", err)
	}
	cases := make(map[string]*groupCase)
	for _, d := range dirs {
		dir := filepath.Dir(d)
		cc, err := loadCase(dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		c := &groupCase{conformanceCase: cc}
		raw, err := os.ReadFile(d)
		if err == nil {
			err = json.Unmarshal(raw, c)
		}
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		cases[filepath.Base(dir)] = c
	}
	return cases
}

// TestGroupConformance runs every group case with every kernel and method,
// through Evaluate and through a Sweep whose other ratios and score set
// share the pass.
func TestGroupConformance(t *testing.T) {
	for name, c := range groupCases(t) {
		t.Run(name, func(t *testing.T) {
			forEachKernel(t, func(t *testing.T, k *kernel) {
				for _, method := range []Method{Auto, Direct, Gram} {
					if method == Gram && c.layer.In > c.layer.Out {
						continue
					}
					t.Run(method.String(), func(t *testing.T) {
						e, err := NewEvaluator(c.layer, WithKernel(k.name), WithMethod(method), c.option(t))
						if err != nil {
							t.Fatal(err)
						}
						m, err := e.Evaluate(c.batches, c.scores, c.Ratio)
						if err != nil {
							t.Fatal(err)
						}
						c.checkGroups(t, "Evaluate", m)
						flat := make([]float32, len(c.scores))
						points, err := e.Sweep(c.batches, []ScoreSet{{"flat", flat}, {"case", c.scores}}, []float64{1, c.Ratio, 0})
						if err != nil {
							t.Fatal(err)
						}
						c.checkGroups(t, "Sweep", points[4].Metrics)
					})
				}
			})
		})
	}
}

func (c *groupCase) checkGroups(t *testing.T, call string, m Metrics) {
	t.Helper()
	if err := c.check(m); err != nil {
		t.Errorf("%s: %v", call, err)
	}
	if m.NumPrunedGroups != c.NumPrunedGroups {
		t.Errorf("%s: %d groups pruned, want %d", call, m.NumPrunedGroups, c.NumPrunedGroups)
	}
}
