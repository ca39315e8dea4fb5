package chanprune

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chanprune/chanprune/tensorfile"
)

// compensationCase is one folder of testdata/conformance-ext/compensation
// (see ../shared/conformance-ext/README.md, section compensation/).
type compensationCase struct {
	conformanceCase
	FitBatches int                         `json:"fit_batches"`
	Damp       float64                     `json:"damp"`
	Want       map[string]*compensationF64 `json:"f64"`
	fit        [][]float32
}

type compensationF64 struct {
	RMSE             float64 `json:"rmse"`
	CosineSimilarity float64 `json:"cosine_similarity"`
	NumPruned        int     `json:"num_pruned"`
}

// The compensation cases' tolerance on the RMSE (the others are the seed's).
const compRMSERel = 1e-4

func loadCompensationCase(t testing.TB, dir string) *compensationCase {
	base, err := loadCase(dir)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	c := &compensationCase{conformanceCase: *base}
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, c); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	for i := range c.FitBatches {
		x, err := tensorfile.Read(tensorfile.Ref{Path: filepath.Join(dir, fmt.Sprintf("fit_%d.npy", i))})
		if err != nil {
			t.Fatal(err)
		}
		c.fit = append(c.fit, x.Data)
	}
	return c
}

func compensationCases(t testing.TB) map[string]*compensationCase {
	cases := make(map[string]*compensationCase)
	for _, dir := range caseDirs(t, "testdata/conformance-ext/compensation/*") {
		cases[filepath.Base(dir)] = loadCompensationCase(t, dir)
	}
	return cases
}

// TestCompensationConformance runs every compensation case in every mode
// with every kernel and method, through Evaluate and through a Stream.
func TestCompensationConformance(t *testing.T) {
	for name, c := range compensationCases(t) {
		t.Run(name, func(t *testing.T) {
			forEachKernel(t, func(t *testing.T, k *kernel) {
				for _, method := range []Method{Auto, Direct, Gram} {
					t.Run(method.String(), func(t *testing.T) {
						e, err := NewEvaluator(c.layer, WithKernel(k.name), WithMethod(method))
						if err != nil {
							t.Fatal(err)
						}
						for _, mode := range []Compensation{CompensateNone, CompensateBias, CompensateLstsq} {
							c.run(t, e, mode, method)
						}
					})
				}
			})
		})
	}
}

// run checks one mode of c on e.
func (c *compensationCase) run(t *testing.T, e *Evaluator, mode Compensation, method Method) {
	t.Helper()
	want := c.Want[mode.String()]
	r := Repair{Mode: mode, Damp: c.Damp}
	if c.FitBatches > 0 {
		r.Fit = e.NewFit()
		for _, x := range c.fit {
			if err := r.Fit.Observe(x); err != nil {
				t.Fatal(err)
			}
		}
	}
	m, err := e.EvaluateRepaired(c.batches, c.scores, c.Ratio, r)
	if want == nil {
		if !errors.Is(err, ErrNotPositiveDefinite) {
			t.Errorf("%v: got %v, want ErrNotPositiveDefinite", mode, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%v: %v", mode, err)
	}
	if m.Uncertified > 0 && method == Gram {
		return // a forced Gram path may keep what it cannot certify
	}
	if err := checkTruth(m, want.RMSE, want.CosineSimilarity, want.NumPruned, compRMSERel); err != nil {
		t.Errorf("%v: %v", mode, err)
	}
	if m.Compensation != mode || m.FitEvaluated != (c.FitBatches == 0 && mode != CompensateNone) {
		t.Errorf("%v: metrics say compensation %v, fit on evaluated %v", mode, m.Compensation, m.FitEvaluated)
	}
}
