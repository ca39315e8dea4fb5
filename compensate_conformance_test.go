package chanprune

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
	dirs, err := filepath.Glob("testdata/conformance-ext/compensation/*/case.json")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no compensation cases found: %v", err)
	}
	cases := make(map[string]*compensationCase)
	for _, d := range dirs {
		cases[filepath.Base(filepath.Dir(d))] = loadCompensationCase(t, filepath.Dir(d))
	}
	return cases
}

// checkCompensation holds m to the f64 truth of mode within the README's
// tolerances; a null truth means m must not exist.
func checkCompensation(want *compensationF64, m Metrics) error {
	rmseOK := math.Abs(m.RMSE-want.RMSE) <= compRMSERel*want.RMSE ||
		math.Abs(m.RMSE-want.RMSE) <= confRMSEAbs // the truth is 0 up to its own rounding
	if !rmseOK || math.Abs(m.CosineSimilarity-want.CosineSimilarity) > confCosAbs || m.NumPruned != want.NumPruned {
		return fmt.Errorf("got rmse %.12g cos %.12g k %d, want %.12g %.12g %d",
			m.RMSE, m.CosineSimilarity, m.NumPruned, want.RMSE, want.CosineSimilarity, want.NumPruned)
	}
	return nil
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
	if err := checkCompensation(want, m); err != nil {
		t.Errorf("%v: %v", mode, err)
	}
	if m.Compensation != mode || m.FitEvaluated != (c.FitBatches == 0 && mode != CompensateNone) {
		t.Errorf("%v: metrics say compensation %v, fit on evaluated %v", mode, m.Compensation, m.FitEvaluated)
	}
}
