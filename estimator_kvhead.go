package chanprune

import (
	"fmt"
	"math"
	"runtime"
)

// kvHeadContribution is Model-Optimizer's IndependentKvHeadContributionHook
// on an attention output projection (o_proj) with Heads query heads and
// KVHeads KV heads: its input channels form KVHeads contiguous groups of
// In/KVHeads (head_dim·Heads/KVHeads), the query heads sharing one KV
// head, and a group's score is Σ_batches mean_tokens ‖x_g·W_gᵀ‖₂, the norm
// of the group's own contribution to each output row. One score per KV
// group: the scores WithGroups(In/KVHeads, …) takes.
//
// Each group's product runs in float32 on the SIMD kernels, its weight
// columns packed once; the norms and sums are float64.
type kvHeadContribution struct {
	Sum []float64 `json:"sum"` // per group: Σ_batches mean_tokens ‖x_g·W_gᵀ‖₂

	groups []*product // x ↦ x_g·W_gᵀ, gathering the group's channels
	y      []float32  // scratch: one group's product, [tokens, out]
	mean   []float64  // scratch: the batch's means, per group
}

func newKVHeadContribution(layer Linear, opts EstimatorOptions) (scorer, error) {
	q, kv := opts.Heads, opts.KVHeads
	if q < 1 || kv < 1 || q%kv != 0 || layer.In%q != 0 {
		return nil, fmt.Errorf("kv-head-contribution: Heads %d, KVHeads %d: want KVHeads dividing Heads and Heads dividing In = %d: %w",
			q, kv, layer.In, ErrEstimator)
	}
	kern, err := selectKernel("")
	if err != nil {
		return nil, err
	}
	size := layer.In / kv
	k := &kvHeadContribution{Sum: make([]float64, kv)}
	wg := make([]float32, layer.Out*size)
	for g := range kv {
		channels := make([]int32, size)
		for j := range channels {
			channels[j] = int32(g*size + j)
		}
		for o := range layer.Out {
			copy(wg[o*size:(o+1)*size], layer.Weight[o*layer.In+g*size:])
		}
		k.groups = append(k.groups, newProduct(kern, wg, nil, channels, layer.In, layer.Out))
	}
	return k, nil
}

func (k *kvHeadContribution) observe(a activations) error {
	tokens := a.tokens()
	out := k.groups[0].out
	k.y = zeroed(k.y, tokens*out)
	k.mean = zeroed(k.mean, len(k.Sum))
	for g, p := range k.groups {
		p.run(k.y, a.x, runtime.GOMAXPROCS(0))
		for t := range tokens {
			var ss float64
			for _, v := range k.y[t*out : (t+1)*out] {
				ss += float64(v) * float64(v)
			}
			k.mean[g] += math.Sqrt(ss)
		}
		if k.mean[g] /= float64(tokens); !isFinite(k.mean[g]) {
			return fmt.Errorf("KV group %d's contribution overflows float32: %w", g, ErrNonFinite)
		}
	}
	for g, m := range k.mean {
		k.Sum[g] += m
	}
	return nil
}

func (k *kvHeadContribution) scores() []float32 {
	s := make([]float32, len(k.Sum))
	for g, v := range k.Sum {
		s[g] = float32(v)
	}
	return s
}

func (k *kvHeadContribution) restore(_, _ int) error {
	if len(k.Sum) != len(k.groups) {
		return fmt.Errorf("sum has %d values, want KVHeads = %d: %w", len(k.Sum), len(k.groups), ErrState)
	}
	return checkStateVector("sum", k.Sum, len(k.groups), 0, maxStateSum)
}
