package chanprune

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/chanprune/chanprune/tensorfile"
)

// conformanceCase is one folder of testdata/conformance (see its README).
type conformanceCase struct {
	Ratio   float64 `json:"ratio"`
	Batches int     `json:"batches"`
	Bias    bool    `json:"bias"`
	F64     struct {
		RMSE             float64 `json:"rmse"`
		CosineSimilarity float64 `json:"cosine_similarity"`
		NumPruned        int     `json:"num_pruned"`
	} `json:"f64"`

	layer   Linear
	batches [][]float32
	scores  []float32
}

func loadCase(dir string) (*conformanceCase, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		return nil, err
	}
	c := new(conformanceCase)
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, err
	}
	w, err := tensorfile.Read(tensorfile.Ref{Path: filepath.Join(dir, "W.npy")})
	if err != nil {
		return nil, err
	}
	c.layer = Linear{Weight: w.Data, Out: w.Shape[0], In: w.Shape[1]}
	if c.Bias {
		b, err := tensorfile.Read(tensorfile.Ref{Path: filepath.Join(dir, "b.npy")})
		if err != nil {
			return nil, err
		}
		c.layer.Bias = b.Data
	}
	s, err := tensorfile.Read(tensorfile.Ref{Path: filepath.Join(dir, "scores.npy")})
	if err != nil {
		return nil, err
	}
	c.scores = s.Data
	for i := range c.Batches {
		x, err := tensorfile.Read(tensorfile.Ref{Path: filepath.Join(dir, fmt.Sprintf("acts_%d.npy", i))})
		if err != nil {
			return nil, err
		}
		c.batches = append(c.batches, x.Data)
	}
	return c, nil
}

// Conformance tolerances against the float64 truth, from the README.
const (
	confRMSERel = 1e-5
	confRMSEAbs = 1e-9 // where the truth is 0
	confCosAbs  = 2e-6
)

func (c *conformanceCase) check(m Metrics) error {
	return checkTruth(m, c.F64.RMSE, c.F64.CosineSimilarity, c.F64.NumPruned, confRMSERel)
}

// checkTruth holds m to a case's float64 truth, the RMSE to rmseRel
// relative (confRMSEAbs absolute where the truth is 0, up to its own
// rounding: below confRMSEAbs).
func checkTruth(m Metrics, rmse, cos float64, k int, rmseRel float64) error {
	rmseOK := math.Abs(m.RMSE-rmse) <= rmseRel*rmse || rmse <= confRMSEAbs && math.Abs(m.RMSE) <= confRMSEAbs
	if !rmseOK || !within(m.CosineSimilarity-cos, confCosAbs) || m.NumPruned != k {
		return fmt.Errorf("got rmse %.12g cos %.12g k %d, want %.12g %.12g %d",
			m.RMSE, m.CosineSimilarity, m.NumPruned, rmse, cos, k)
	}
	return nil
}

// caseDirs returns the folders of the cases that pattern's case.json
// files name.
func caseDirs(t testing.TB, pattern string) []string {
	files, err := filepath.Glob(filepath.Join(pattern, "case.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases %s found: %v", pattern, err)
	}
	dirs := make([]string, len(files))
	for i, f := range files {
		dirs[i] = filepath.Dir(f)
	}
	return dirs
}

func conformanceCases(t testing.TB) map[string]*conformanceCase {
	cases := make(map[string]*conformanceCase)
	for _, dir := range caseDirs(t, "testdata/conformance/*") {
		c, err := loadCase(dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		cases[filepath.Base(dir)] = c
	}
	return cases
}

// TestConformance runs every case with every kernel and method
// (eachKernelMethod).
func TestConformance(t *testing.T) {
	for name, c := range conformanceCases(t) {
		t.Run(name, func(t *testing.T) {
			eachKernelMethod(t, c.layer, func(t *testing.T, opts ...Option) {
				e, err := NewEvaluator(c.layer, opts...)
				if err != nil {
					t.Fatal(err)
				}
				m, err := e.Evaluate(c.batches, c.scores, c.Ratio)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.check(m); err != nil {
					t.Error(err)
				}
			})
		})
	}
}

// eachKernelMethod runs f for every kernel, Auto and Direct; and Gram where
// in ≤ out, the layers for which it keeps the tolerances; opts select them.
func eachKernelMethod(t *testing.T, l Linear, f func(t *testing.T, opts ...Option)) {
	forEachKernel(t, func(t *testing.T, k *kernel) {
		for _, method := range []Method{Auto, Direct, Gram} {
			if method == Gram && l.In > l.Out {
				continue
			}
			t.Run(method.String(), func(t *testing.T) { f(t, WithKernel(k.name), WithMethod(method)) })
		}
	})
}
