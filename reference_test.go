package chanprune

import "math"

// refEval is the float64 truth, written the plain way: y and y' from the
// float32 inputs in float64, the pruned channels zeroed. With it come bounds
// on what a float32 kernel may lose: per batch, the largest Σ|x||w| over
// the kept and over the pruned channels of any output.
type refResult struct {
	Metrics
	tol tolerance
}

// tolerance is how far a float32 evaluation may be from the float64 truth.
type tolerance struct{ rmse, cos float64 }

func refEval(l Linear, batches [][]float32, scores []float32, ratio float64) refResult {
	k := NumPruned(l.In, ratio)
	order := make([]int32, l.In)
	pruneOrder(order, scores)
	pruned := make([]bool, l.In)
	for _, c := range order[:k] {
		pruned[c] = true
	}
	var r refResult
	r.NumPruned = k
	for _, x := range batches {
		tokens := len(x) / l.In
		var dd, yy1, yy, y1y1, maxAbsKept, maxAbsPruned float64
		for t := range tokens {
			row := x[t*l.In : (t+1)*l.In]
			for o := range l.Out {
				w := l.Weight[o*l.In : (o+1)*l.In]
				var y1, d, absKept, absPruned float64
				for c := range row {
					p := float64(row[c]) * float64(w[c])
					if pruned[c] {
						d += p
						absPruned += math.Abs(p)
					} else {
						y1 += p
						absKept += math.Abs(p)
					}
				}
				if len(l.Bias) > 0 {
					y1 += float64(l.Bias[o])
				}
				y := y1 + d
				dd += d * d
				yy1 += y * y1
				yy += y * y
				y1y1 += y1 * y1
				maxAbsKept = max(maxAbsKept, absKept)
				maxAbsPruned = max(maxAbsPruned, absPruned)
			}
		}
		s := sums{dd, yy1, yy, y1y1}
		bm := batchMetrics(s, tokens, l.Out)
		r.PerBatch = append(r.PerBatch, bm)
		r.RMSE += bm.RMSE
		r.CosineSimilarity += bm.CosineSimilarity

		// Each output errs by at most dotError (kernel_test.go); the
		// float64 reductions add nothing at this scale. The RMSE is a norm
		// of d, so its error is at most the largest error of one d. The
		// cosine moves by at most about 2·(‖Δy‖/‖y‖ + ‖Δy'‖/‖y'‖), each
		// ‖Δ‖ ≤ √n·(largest error).
		errKept := dotError(l.In, maxAbsKept)
		errPruned := dotError(l.In, maxAbsPruned)
		cnt := math.Sqrt(float64(tokens * l.Out))
		r.tol.rmse += errPruned
		r.tol.cos += 2 * cnt * ((errKept+errPruned)/max(math.Sqrt(yy), 1e-8) + errKept/max(math.Sqrt(y1y1), 1e-8))
	}
	nb := float64(len(batches))
	r.RMSE /= nb
	r.CosineSimilarity /= nb
	r.tol.rmse /= nb
	r.tol.cos /= nb
	return r
}

// within reports whether got is within the tolerance of the truth.
func (r refResult) within(got Metrics) bool {
	return got.NumPruned == r.NumPruned &&
		math.Abs(got.RMSE-r.RMSE) <= r.tol.rmse &&
		math.Abs(got.CosineSimilarity-r.CosineSimilarity) <= r.tol.cos
}

// checksum is a bitwise fingerprint of float32 slices, to show that a call
// leaves its inputs as they were.
func checksum(xs ...[]float32) uint64 {
	h := uint64(14695981039346656037)
	for _, x := range xs {
		for _, v := range x {
			h = (h ^ uint64(math.Float32bits(v))) * 1099511628211
		}
		h = (h ^ uint64(len(x))) * 1099511628211
	}
	return h
}
