package chanprune

import (
	"math"
	"testing"
)

func TestProduct(t *testing.T) {
	ks, _ := testedKernels()
	for _, kern := range ks {
		t.Run(kern.name, func(t *testing.T) {
			r := newRand(13)
			for _, sh := range [][3]int{{1, 1, 1}, {7, 5, 3}, {33, 17, 300}, {128, 40, 65}} {
				tokens, in, out := sh[0], sh[1], sh[2]
				l := randLayer(r, in, out, true)
				x := randBatches(r, in, tokens)[0]
				channels := make([]int32, 0, in)
				for _, c := range r.Perm(in)[:in-in/3] {
					channels = append(channels, int32(c))
				}
				// The weight of the chosen channels, [out, len(channels)].
				w := make([]float32, 0, out*len(channels))
				for o := range out {
					for _, c := range channels {
						w = append(w, l.Weight[o*in+int(c)])
					}
				}
				p := newProduct(kern, w, l.Bias, channels, in, out)
				c := make([]float32, tokens*out)
				p.run(c, x, 3)
				for ti := range tokens {
					for o := range out {
						want, abs := float64(l.Bias[o]), math.Abs(float64(l.Bias[o]))
						for _, ch := range channels {
							v := float64(x[ti*in+int(ch)]) * float64(l.Weight[o*in+int(ch)])
							want += v
							abs += math.Abs(v)
						}
						if got := float64(c[ti*out+o]); math.Abs(got-want) > dotError(len(channels)+1, abs) {
							t.Fatalf("%v: c[%d,%d] = %v, want %v", sh, ti, o, got, want)
						}
					}
				}
			}
		})
	}
}
