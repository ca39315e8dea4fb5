package chanprune

import "math"

// gramTolerance bounds how far the Gram path may be from the float64 truth:
// each entry of G = xᵀx and of H = WᵀW errs by its float32 dot-product error
// (blocks of gramRows rows) plus, for G, one rounding to float32 and, for
// H, a float32 sum of its blocks; an entry of H⊙G
// then errs by |H|·ΔG + |G|·ΔH + ΔH·ΔG, and each sum by the sum of those
// errors over its entries, plus one float32 rounding of each entry of M
// (the sweep keeps M in float32). The metrics follow to first order.
func gramTolerance(l Linear, batches [][]float32, pruned []bool) tolerance {
	in := l.In
	abs := func(x []float32, rows, i, j int) (sum, absSum float64) {
		for t := range rows {
			v := float64(x[t*in+i]) * float64(x[t*in+j])
			sum += v
			absSum += math.Abs(v)
		}
		return sum, absSum
	}
	var tol tolerance
	for _, x := range batches {
		tokens := len(x) / in
		var all, allP, pp, hg, ddTrue, hgP, ySq float64
		for i := range in {
			for j := range in {
				h, hAbs := abs(l.Weight, l.Out, i, j)
				g, gAbs := abs(x, tokens, i, j)
				eH := dotError(min(l.Out, gramRows), hAbs) + dotError(panels(l.Out, gramRows), hAbs)
				eG := dotError(min(tokens, gramRows), gAbs) + unitRoundoff*math.Abs(g)
				e := math.Abs(h)*eG + math.Abs(g)*eH + eH*eG + (unitRoundoff+0x1p-50)*math.Abs(h*g)
				all += e
				hg += h * g
				if pruned[j] {
					allP += e
					hgP += h * g
					if pruned[i] {
						pp += e
						ddTrue += h * g
					}
				}
			}
		}
		ySq = max(hg, 1e-300)
		n := float64(tokens * l.Out)
		ddTrue = max(ddTrue, 0)
		if ddTrue > 0 {
			tol.rmse += min(pp/(2*math.Sqrt(n*ddTrue)), math.Sqrt(pp/n))
		} else {
			tol.rmse += math.Sqrt(pp / n)
		}
		// cos = yy1/sqrt(yy·y1y1) with Δyy = all, Δyy1 = all + allP,
		// Δy1y1 = all + 2·allP + pp; the bias terms are exact in float64.
		// With every channel pruned, y' = b and only yy errs.
		if allPruned(pruned) {
			tol.cos += 0.5 * all / ySq
			continue
		}
		y1y1 := math.Max(ySq-2*hgP+ddTrue, 1e-300)
		tol.cos += (all+allP)/math.Sqrt(ySq*y1y1) + 0.5*(all/ySq+(all+2*allP+pp)/y1y1)
	}
	nb := float64(len(batches))
	tol.rmse /= nb
	tol.cos /= nb
	return tol
}

func allPruned(pruned []bool) bool {
	for _, p := range pruned {
		if !p {
			return false
		}
	}
	return true
}
