package main

import (
	"cmp"
	"math"
	"slices"
	"sort"
)

// An option is one choice for a layer in allocate: prune weight
// parameters at cost.
type option struct {
	weight int64
	cost   float64
}

// solveCover chooses one option per layer so that the chosen weights sum
// to at least need and the chosen costs to the least: the multiple-choice
// knapsack, in its covering form, solved exactly over the options given.
// It returns each layer's option index and the summed cost, or ok false
// where even the heaviest options do not reach need.
//
// The method is exact dynamic programming over the layers, with bounds:
//   - the linear relaxation (Sinha–Zoltners: each layer's options' lower
//     convex hull, the hulls' segments taken greedily by slope) gives a
//     lower bound, and rounding it a feasible choice, the incumbent;
//   - options whose reduced cost at the relaxation's price of a weight
//     puts every choice holding them above the incumbent are dropped
//     (where nothing is left between bound and incumbent, it is optimal);
//   - the programme's states are the (weight, cost) pairs that no other
//     reachable pair beats in both, weights capped at need (so at most
//     need/g+2 of them, g the gcd of the options' weights: out times the
//     gcd of the channel counts where layers share out), and a state
//     whose cost plus the relaxation of the layers still to choose
//     exceeds the incumbent is dropped.
//
// Each layer costs O(S·K·log(S·K) + H) for S states, K options and H hull
// segments, so the worst case is O(L·(need/g)·K·log) for L layers;
// measured curves keep S small (BenchmarkAllocate: 500 layers × 10 ratios
// in well under a second). The bounds compare with a relative slack of
// 1e-9, as their float sums round: the choice is optimal to within that.
func solveCover(layers [][]option, need int64) (pick []int, cost float64, ok bool) {
	need = max(need, 0)
	if mostWeight(layers) < need {
		return nil, 0, false
	}
	fronts := make([][]int, len(layers))
	for l, opts := range layers {
		fronts[l] = paretoOptions(opts, need)
	}
	lp := newRelaxation(layers, fronts, need)
	ubPick, lambda := lp.incumbent(layers, fronts, need)
	ub := pickedCost(layers, ubPick)
	slack := 1e-9 * (1 + math.Abs(ub)) // float sums of the bound round too
	fronts, lb := reduce(layers, fronts, need, lambda, ub+slack)
	if ub <= lb+slack { // the relaxation's bound is met: nothing is cheaper
		return ubPick, ub, true
	}
	lp = newRelaxation(layers, fronts, need)

	type state struct {
		w int64
		c float64
	}
	type step struct{ opt, parent int32 }
	type cand struct {
		state
		step
	}
	states := []state{{0, 0}}
	trace := make([][]step, len(layers))
	var cands []cand
	for l := range layers {
		cands = cands[:0]
		for si, s := range states {
			for _, oi := range fronts[l] {
				o := layers[l][oi]
				cands = append(cands, cand{state{min(s.w+o.weight, need), s.c + o.cost}, step{int32(oi), int32(si)}})
			}
		}
		slices.SortStableFunc(cands, func(a, b cand) int {
			return cmp.Or(cmp.Compare(b.w, a.w), cmp.Compare(a.c, b.c))
		})
		bound := lp.bound(l+1, need)
		states, trace[l] = states[:0:0], nil
		best := math.Inf(1) // the least cost of the heavier states kept
		for _, c := range cands {
			if c.c >= best || c.c+bound(need-c.w) > ub+slack {
				continue
			}
			best = c.c
			states, trace[l] = append(states, c.state), append(trace[l], c.step)
		}
		if len(states) == 0 { // every path is worse than the rounding
			return ubPick, ub, true
		}
	}
	// states run from the heaviest down: the first is the cheapest of
	// those reaching need, if one does.
	if states[0].w < need || states[0].c > ub {
		return ubPick, ub, true
	}
	pick = make([]int, len(layers))
	at := 0
	for l := len(layers) - 1; l >= 0; l-- {
		pick[l], at = int(trace[l][at].opt), int(trace[l][at].parent)
	}
	return pick, states[0].c, true
}

// mostWeight is the most weight a choice reaches: every layer's heaviest.
func mostWeight(layers [][]option) int64 {
	var most int64
	for _, opts := range layers {
		var m int64
		for _, o := range opts {
			m = max(m, o.weight)
		}
		most += m
	}
	return most
}

// paretoOptions gives the indexes of the options that no other beats
// (as heavy, weights capped at need, and as cheap), by ascending weight
// and so ascending cost; of equal ones, the first.
func paretoOptions(opts []option, need int64) []int {
	idx := make([]int, len(opts))
	for i := range idx {
		idx[i] = i
	}
	w := func(i int) int64 { return min(opts[i].weight, need) }
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(w(b), w(a)), cmp.Compare(opts[a].cost, opts[b].cost))
	})
	var front []int
	for _, i := range idx {
		if len(front) == 0 || opts[i].cost < opts[front[len(front)-1]].cost {
			front = append(front, i)
		}
	}
	slices.Reverse(front)
	return front
}

// A relaxation is the linear relaxation of the choice: each layer at its
// lightest undominated option (base), plus segments of the layers' lower
// convex hulls, in ascending slope.
type relaxation struct {
	segs  []segment
	baseW []int64   // per layer, from it to the last: summed base weights
	baseC []float64 // and costs
	hulls [][]int   // per layer: its hull's option indexes, by weight
	cumW  []float64 // scratch of bound
	cumC  []float64
	slope []float64
}

// A segment joins hull vertices at and at+1 of a layer.
type segment struct {
	layer, at int
	dw        int64
	dc        float64
}

func (s segment) slope() float64 { return s.dc / float64(s.dw) }

func newRelaxation(layers [][]option, fronts [][]int, need int64) *relaxation {
	r := &relaxation{baseW: make([]int64, len(layers)+1), baseC: make([]float64, len(layers)+1), hulls: make([][]int, len(layers))}
	for l := len(layers) - 1; l >= 0; l-- {
		opts, front := layers[l], fronts[l]
		w := func(i int) float64 { return float64(min(opts[i].weight, need)) }
		// Lower convex hull of the front, whose costs rise with weight.
		var h []int
		for _, i := range front {
			for len(h) >= 2 {
				a, b := h[len(h)-2], h[len(h)-1]
				// b lies on or above the chord from a to i: drop it.
				if (opts[b].cost-opts[a].cost)*(w(i)-w(a)) >= (opts[i].cost-opts[a].cost)*(w(b)-w(a)) {
					h = h[:len(h)-1]
					continue
				}
				break
			}
			h = append(h, i)
		}
		r.hulls[l] = h
		for j := 1; j < len(h); j++ {
			a, b := opts[h[j-1]], opts[h[j]]
			r.segs = append(r.segs, segment{l, j - 1, min(b.weight, need) - min(a.weight, need), b.cost - a.cost})
		}
		r.baseW[l] = r.baseW[l+1] + min(opts[h[0]].weight, need)
		r.baseC[l] = r.baseC[l+1] + opts[h[0]].cost
	}
	slices.SortStableFunc(r.segs, func(a, b segment) int {
		return cmp.Or(cmp.Compare(a.slope(), b.slope()), cmp.Compare(a.layer, b.layer), cmp.Compare(a.at, b.at))
	})
	return r
}

// bound gives the relaxation's least cost of the layers from first on
// covering a weight rem: a lower bound on any choice of theirs that does,
// +Inf where none can.
func (r *relaxation) bound(first int, need int64) func(rem int64) float64 {
	r.cumW, r.cumC, r.slope = r.cumW[:0], r.cumC[:0], r.slope[:0]
	var w, c float64
	for _, s := range r.segs {
		if s.layer >= first {
			w, c = w+float64(s.dw), c+s.dc
			r.cumW, r.cumC, r.slope = append(r.cumW, w), append(r.cumC, c), append(r.slope, s.slope())
		}
	}
	baseW, baseC := r.baseW[first], r.baseC[first]
	return func(rem int64) float64 {
		left := float64(rem - baseW)
		if left <= 0 {
			return baseC
		}
		k := sort.SearchFloat64s(r.cumW, left) // the segment that covers left
		if k == len(r.cumW) {
			return math.Inf(1)
		}
		prevW, prevC := 0.0, 0.0
		if k > 0 {
			prevW, prevC = r.cumW[k-1], r.cumC[k-1]
		}
		return baseC + prevC + (left-prevW)*r.slope[k]
	}
}

// incumbent is a good feasible choice, the better of two roundings of
// the relaxation (every layer at its base, then whole hull segments by
// ascending slope: up to the one that meets need, or short of it and the
// cheapest single change that meets it), each then lightened (improve);
// lambda is the slope of the segment that meets need, the relaxation's
// price of a weight (0 where the bases meet it).
func (r *relaxation) incumbent(layers [][]option, fronts [][]int, need int64) (pick []int, lambda float64) {
	at := make([]int, len(r.hulls))
	w := r.baseW[0]
	critical := -1
	for k, s := range r.segs {
		if w+s.dw >= need {
			critical, lambda = k, s.slope()
			break
		}
		at[s.layer] = s.at + 1
		w += s.dw
	}
	down := make([]int, len(r.hulls))
	for l, h := range r.hulls {
		down[l] = h[at[l]]
	}
	if critical < 0 {
		return improve(layers, fronts, down, need), 0
	}
	up := slices.Clone(down)
	s := r.segs[critical]
	up[s.layer] = r.hulls[s.layer][s.at+1]
	up = improve(layers, fronts, up, need)
	down = improve(layers, fronts, fixShort(layers, fronts, down, need), need)
	if pickedCost(layers, down) < pickedCost(layers, up) {
		return down, lambda
	}
	return up, lambda
}

// fixShort makes pick, short of need, meet it by the cheapest change of
// one layer's option.
func fixShort(layers [][]option, fronts [][]int, pick []int, need int64) []int {
	w := pickedWeight(layers, pick, need)
	bestL, bestJ, bestD := -1, 0, math.Inf(1)
	for l, front := range fronts {
		cur := layers[l][pick[l]]
		for _, j := range front {
			o := layers[l][j]
			if w-min(cur.weight, need)+min(o.weight, need) >= need && o.cost-cur.cost < bestD {
				bestL, bestJ, bestD = l, j, o.cost-cur.cost
			}
		}
	}
	pick[bestL] = bestJ // some layer's heaviest option meets need: the relaxation's is short of it
	return pick
}

// improve lightens a feasible pick: each layer in turn takes its
// cheapest option that keeps need met.
func improve(layers [][]option, fronts [][]int, pick []int, need int64) []int {
	w := pickedWeight(layers, pick, need)
	for l, front := range fronts {
		cur := min(layers[l][pick[l]].weight, need)
		for _, j := range front { // by ascending weight and cost: the first that does
			if wj := min(layers[l][j].weight, need); w-cur+wj >= need {
				pick[l], w = j, w-cur+wj
				break
			}
		}
	}
	return pick
}

// reduce drops from each layer's front the options that no choice
// cheaper than limit can hold, and gives the lower bound lb it used. For a price lambda ≥ 0 of a weight, any
// choice meeting need costs at least lb = lambda·need + Σ min(c − lambda·w)
// plus, for each layer, its option's reduced cost c − lambda·w − min.
func reduce(layers [][]option, fronts [][]int, need int64, lambda, limit float64) (reduced [][]int, lb float64) {
	priced := func(l, j int) float64 { return layers[l][j].cost - lambda*float64(min(layers[l][j].weight, need)) }
	lows := make([]float64, len(fronts))
	lb = lambda * float64(need)
	for l, front := range fronts {
		lows[l] = math.Inf(1)
		for _, j := range front {
			lows[l] = min(lows[l], priced(l, j))
		}
		lb += lows[l]
	}
	out := make([][]int, len(fronts))
	for l, front := range fronts {
		for _, j := range front {
			if lb+priced(l, j)-lows[l] <= limit {
				out[l] = append(out[l], j)
			}
		}
	}
	return out, lb
}

func pickedWeight(layers [][]option, pick []int, need int64) int64 {
	var w int64
	for l, i := range pick {
		w += min(layers[l][i].weight, need)
	}
	return w
}

// pickedCost sums the costs of the options picked, layer by layer, as the
// dynamic programme does.
func pickedCost(layers [][]option, pick []int) float64 {
	var c float64
	for l, i := range pick {
		c += layers[l][i].cost
	}
	return c
}
