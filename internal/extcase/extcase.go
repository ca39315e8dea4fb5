// Package extcase reads the expected answers of testdata/conformance-ext
// (its README gives the semantics) for the library's and the command's
// tests alike: the groups/ and estimators/ families.
package extcase

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Metrics are a case's float64 truth.
type Metrics struct {
	RMSE             float64 `json:"rmse"`
	CosineSimilarity float64 `json:"cosine_similarity"`
	NumPruned        int     `json:"num_pruned"` // channels
}

// A Group case prunes whole groups of channels.
type Group struct {
	Dir             string  `json:"-"`
	Ratio           float64 `json:"ratio"`
	Batches         int     `json:"batches"`
	Bias            bool    `json:"bias"`
	GroupSize       int     `json:"group_size"`
	GroupReduce     *string `json:"group_reduce"` // nil: one score per group
	NumPrunedGroups int     `json:"num_pruned_groups"`
	F64             Metrics `json:"f64"`
}

// An Estimator case holds an attention output projection's expected
// kv-head-contribution and layernorm-contribution scores.
type Estimator struct {
	Dir       string    `json:"-"`
	Heads     int       `json:"num_q_heads"`
	KVHeads   int       `json:"num_kv_heads"`
	HeadDim   int       `json:"head_dim"`
	Batches   int       `json:"batches"`
	KVHead    []float64 `json:"kv_head_contribution"`
	LayerNorm []float64 `json:"layernorm_contribution"`
}

// Groups reads every case of root/groups, root being a copy of
// conformance-ext.
func Groups(root string) ([]Group, error) {
	return read(filepath.Join(root, "groups"), func(c *Group, dir string) { c.Dir = dir })
}

// Estimators reads every case of root/estimators.
func Estimators(root string) ([]Estimator, error) {
	return read(filepath.Join(root, "estimators"), func(c *Estimator, dir string) { c.Dir = dir })
}

// BatchFiles returns the paths of a case's acts_0.npy … acts_{n−1}.npy.
func BatchFiles(dir string, n int) []string {
	files := make([]string, n)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("acts_%d.npy", i))
	}
	return files
}

// read decodes the case.json of every folder of family, in name order.
func read[T any](family string, setDir func(*T, string)) ([]T, error) {
	paths, err := filepath.Glob(filepath.Join(family, "*", "case.json"))
	if err == nil && len(paths) == 0 {
		err = fmt.Errorf("%s: no cases", family)
	}
	if err != nil {
		return nil, err
	}
	cases := make([]T, len(paths))
	for i, p := range paths {
		raw, err := os.ReadFile(p)
		if err == nil {
			err = json.Unmarshal(raw, &cases[i])
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		setDir(&cases[i], filepath.Dir(p))
	}
	return cases, nil
}
