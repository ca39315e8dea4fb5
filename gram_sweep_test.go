package chanprune

import (
	"math"
	"math/rand/v2"
	"testing"
)

// A sweep's per-channel sums, gathered from the upper triangle's rows and
// the bands' column adds, are the full rows of M = H⊙G summed directly
// from gramReference's G: c_j = Σ_i v_ij, w_j = Σ_i w_ij and, for every
// channel, lower_j = M_jj + 2·Σ_{rank_i<rank_j} M_ij.
// Only the order of the float64 adds differs, so each holds to
// n·2⁻⁵³·Σ|terms|; w_ij's five products are also formed in another order
// here, a few more roundings each. They are the same bit for bit on 1 and
// 3 workers.
func TestSweepStripSumsAreFullRows(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(47)
		for _, sh := range [][2]int{{1, 1}, {9, 30}, {128, 300}, {300, 257}, {40, 70}} {
			rows, in := sh[0], sh[1]
			e, s, x := twoSetSweep(t, r, kern, rows, in)
			var runs [2]*sweepGram
			for k, workers := range []int{1, 3} {
				sg := newSweepGram(s, newGramScratch(e))
				sg.ready()
				sg.observe(x, workers)
				runs[k] = sg
			}
			sg, lg := runs[0], e.layerGram
			g := gramReference(kern, x, in)
			at := func(i, j int) (float32, float32) { // H_ij, G_ij from the upper triangle
				if j < i {
					i, j = j, i
				}
				return lg.h[i*in+j], g[i*in+j]
			}
			for j := range in {
				var c, cAbs, w, wAbs float64
				for i := range in {
					hv, gv := at(i, j)
					h, gg := float64(hv), float64(gv)
					v := h * gg
					if i == j { // w_jj from the diagonals of H and G, as Evaluate's
						h, gg = lg.diag[j], sg.diag[j]
					}
					q := sg.rounds*sg.diag[i]*h*h*sg.diag[j] + lg.rounds*lg.diag[i]*gg*gg*lg.diag[j]
					c, cAbs = c+v, cAbs+math.Abs(v)
					w, wAbs = w+q, wAbs+math.Abs(q)
				}
				tol := float64(in) * 0x1p-53
				if !within(sg.c[j]-c, tol*cAbs) || !within(sg.w[j]-w, (tol+8*0x1p-53)*wAbs) {
					t.Fatalf("%v: channel %d: c %v, w %v; full rows give %v, %v", sh, j, sg.c[j], sg.w[j], c, w)
				}
				for set, rank := range s.ranks[:len(s.names)] {
					hv, gv := at(j, j)
					want, abs := float64(hv*gv), math.Abs(float64(hv*gv))
					for i := range in {
						if rank[i] < rank[j] {
							hv, gv := at(i, j)
							m := float64(hv * gv)
							want, abs = want+2*m, abs+2*math.Abs(m)
						}
					}
					if !within(sg.lower[set][j]-want, tol*abs) {
						t.Fatalf("%v: set %d channel %d: lower %v, full row gives %v", sh, set, j, sg.lower[set][j], want)
					}
				}
			}
			for j := range in {
				if runs[1].c[j] != sg.c[j] || runs[1].w[j] != sg.w[j] || runs[1].lower[0][j] != sg.lower[0][j] || runs[1].lower[1][j] != sg.lower[1][j] {
					t.Fatalf("%v: channel %d: 3 workers differ from 1", sh, j)
				}
			}
		}
	})
}

// recheck's contraction of a kept G is batchSums's, bit for bit: the same
// strips in the same order, from memory rather than from the gemm.
func TestSweepStoredSumsAreBatchSums(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(53)
		for _, sh := range [][2]int{{1, 1}, {9, 30}, {128, 300}, {300, 257}} {
			rows, in := sh[0], sh[1]
			e, s, x := twoSetSweep(t, r, kern, rows, in)
			sg := newSweepGram(s, newGramScratch(e))
			sg.ready()
			sg.keep, sg.g = true, make([]float32, in*in)
			sg.observe(x, 3)
			k := in / 3
			clear(sg.mask)
			for _, c := range s.orders[1][:k] {
				sg.mask[c] = 1
			}
			stored, sv := sg.storedSums(k)
			formed, fv := sg.batchSums(x, k, 3)
			if stored != formed || sv != fv {
				t.Fatalf("%v: stored G gives %v %+v, forming it %v %+v", sh, stored, sv, formed, fv)
			}
		}
	})
}

// twoSetSweep returns a Gram Evaluator of a random in→in+3 layer with bias
// on kern, with H built, a stream of two random score sets at 0.2 and 0.9
// on it, and a random batch of rows tokens.
func twoSetSweep(t *testing.T, r *rand.Rand, kern *kernel, rows, in int) (*Evaluator, *Stream, []float32) {
	t.Helper()
	e, err := NewEvaluator(randLayer(r, in, in+3, true), WithKernel(kern.name), WithMethod(Gram))
	if err != nil {
		t.Fatal(err)
	}
	sets := []ScoreSet{{"a", randScores(r, in)}, {"b", randScores(r, in)}}
	s, err := e.NewStream(sets, []float64{0.2, 0.9})
	if err != nil {
		t.Fatal(err)
	}
	e.setGramMask()
	return e, s, randBatches(r, in, rows)[0]
}
