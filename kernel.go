package chanprune

// A kernel is one implementation of the evaluation micro-kernel together
// with the register tile it is written for. Packing follows the tile: the
// activations are packed in panels of mr tokens, the weight in panels of nr
// outputs.
type kernel struct {
	name   string
	mr, nr int
	eval   evalFunc
}

// evalFunc evaluates one mr×nr tile of the pruned layer and adds its
// reductions to s. Its contract, shared by every implementation:
//
//   - a holds len(idx) rows of mr activations: row p is channel idx[p] of the
//     tile's tokens (zero for padded tokens). Rows [0, nk) are the kept
//     channels, rows [nk, len(idx)) the pruned ones.
//   - w is a weight panel: row c (nr floats) holds W[o, c] for the panel's nr
//     outputs o, zero for padded outputs; the kernel reads row idx[p] for p.
//   - bias holds nr floats (zero padded), added to y'.
//   - m ≤ mr is the number of real tokens; rows m..mr-1 are left out of s.
//
// For the tile it forms y' = a[:nk]·w[idx[:nk]] + bias and
// d = a[nk:]·w[idx[nk:]] (what pruning removes, so y = y' + d), and adds
// Σd², Σy·y', Σy² and Σy'² to s in float64. Every SIMD kernel is checked
// against evalGeneric (kernel_generic.go).
type evalFunc func(a, w []float32, idx []int32, nk int, bias []float32, m int, s *sums)

// sums are the reductions of (y', d) from which the metrics follow.
type sums struct {
	dd   float64 // Σd² = Σ(y'-y)²
	yy1  float64 // Σy·y'
	yy   float64 // Σy²
	y1y1 float64 // Σy'²
}

func (s *sums) add(t sums) {
	s.dd += t.dd
	s.yy1 += t.yy1
	s.yy += t.yy
	s.y1y1 += t.y1y1
}
