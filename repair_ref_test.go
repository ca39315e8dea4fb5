package chanprune

import "math"

// refRepaired evaluates a repair in float64 from the definitions alone
// (README, "Compensation"): two-pass centred scatter, a Gauss–Jordan solve
// with partial pivoting, the repaired layer in float64 rounded to the
// float32 it is written as, and the metrics from the outputs of the layer
// and of the repaired layer, formed directly in float64. ok is false where
// S_KK + λI is singular.
func refRepaired(l Linear, batches, fit [][]float32, pruned []bool, mode Compensation, damp float64) (rmse, cos float64, ok bool) {
	in, out := l.In, l.Out
	var kept, pr []int
	for c, p := range pruned {
		if p {
			pr = append(pr, c)
		} else {
			kept = append(kept, c)
		}
	}
	mean, tokens := make([]float64, in), 0
	for _, x := range fit {
		for t := range len(x) / in {
			for c := range in {
				mean[c] += float64(x[t*in+c])
			}
			tokens++
		}
	}
	for c := range mean {
		mean[c] /= float64(tokens)
	}
	s := make([][]float64, in)
	for i := range s {
		s[i] = make([]float64, in)
	}
	for _, x := range fit {
		for t := range len(x) / in {
			for i := range in {
				for j := range in {
					s[i][j] += (float64(x[t*in+i]) - mean[i]) * (float64(x[t*in+j]) - mean[j])
				}
			}
		}
	}
	// c[a][j]: kept channel a's coefficient for pruned channel j.
	k, p := len(kept), len(pr)
	c := make([][]float64, k)
	for a := range c {
		c[a] = make([]float64, p)
	}
	if mode == CompensateLstsq && k > 0 && p > 0 {
		var trace float64
		for _, ch := range kept {
			trace += s[ch][ch]
		}
		lambda := damp * trace / float64(k)
		aug := make([][]float64, k) // [S_KK + λI | S_KP]
		for a, ca := range kept {
			aug[a] = make([]float64, k+p)
			for b, cb := range kept {
				aug[a][b] = s[ca][cb]
			}
			aug[a][a] += lambda
			for j, cj := range pr {
				aug[a][k+j] = s[ca][cj]
			}
		}
		for col := range k {
			piv := col
			for r := col + 1; r < k; r++ {
				if math.Abs(aug[r][col]) > math.Abs(aug[piv][col]) {
					piv = r
				}
			}
			if math.Abs(aug[piv][col]) < 1e-12*math.Max(1, math.Abs(aug[col][col])) {
				return 0, 0, false
			}
			aug[col], aug[piv] = aug[piv], aug[col]
			for r := range k {
				if r == col {
					continue
				}
				f := aug[r][col] / aug[col][col]
				for q := col; q < k+p; q++ {
					aug[r][q] -= f * aug[col][q]
				}
			}
		}
		for a := range k {
			for j := range p {
				c[a][j] = aug[a][k+j] / aug[a][a]
			}
		}
	}
	w2 := make([][]float64, out) // the repaired weight on all channels, 0 on P
	b2 := make([]float64, out)
	for o := range out {
		w2[o] = make([]float64, in)
		if len(l.Bias) > 0 {
			b2[o] = float64(l.Bias[o])
		}
		for _, ca := range kept {
			w2[o][ca] = float64(l.Weight[o*in+ca])
		}
		if mode == CompensateNone {
			continue
		}
		for j, cj := range pr {
			wj := float64(l.Weight[o*in+cj])
			v := mean[cj]
			for a, ca := range kept {
				w2[o][ca] += wj * c[a][j]
				v -= c[a][j] * mean[ca]
			}
			b2[o] += wj * v
		}
	}
	for o := range out { // the repaired layer as written: float32
		b2[o] = float64(float32(b2[o]))
		for c := range w2[o] {
			w2[o][c] = float64(float32(w2[o][c]))
		}
	}
	for _, x := range batches {
		var dd, yy, yy2, y2y2 float64
		n := len(x) / in
		for t := range n {
			for o := range out {
				y, y2 := 0.0, b2[o]
				if len(l.Bias) > 0 {
					y = float64(l.Bias[o])
				}
				for ch := range in {
					v := float64(x[t*in+ch])
					y += v * float64(l.Weight[o*in+ch])
					y2 += v * w2[o][ch]
				}
				dd += (y - y2) * (y - y2)
				yy += y * y
				yy2 += y * y2
				y2y2 += y2 * y2
			}
		}
		rmse += math.Sqrt(dd / float64(n*out))
		cos += yy2 / (math.Max(math.Sqrt(yy), 1e-8) * math.Max(math.Sqrt(y2y2), 1e-8))
	}
	return rmse / float64(len(batches)), cos / float64(len(batches)), true
}
