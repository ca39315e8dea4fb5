package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// bruteCover tries every choice: the least cost of those meeting need.
func bruteCover(layers [][]option, need int64) (float64, bool) {
	best, found := math.Inf(1), false
	var walk func(l int, w int64, c float64)
	walk = func(l int, w int64, c float64) {
		if l == len(layers) {
			if w >= need && c < best {
				best, found = c, true
			}
			return
		}
		for _, o := range layers[l] {
			walk(l+1, w+o.weight, c+o.cost)
		}
	}
	walk(0, 0, 0)
	return best, found
}

// randomGrid makes layers of a few options each, ratio 0 first, whose
// weights are multiples of an out and whose costs mostly rise with them,
// with ties and dominated options among them.
func randomGrid(r *rand.Rand, layers, options int) [][]option {
	g := make([][]option, layers)
	for l := range g {
		out := int64(1 + r.IntN(5))
		g[l] = []option{{0, 0}}
		for range options {
			k := int64(r.IntN(9))
			c := float64(k)*r.Float64() + 0.3*r.Float64()
			if r.IntN(4) == 0 {
				c = float64(r.IntN(3)) // ties
			}
			g[l] = append(g[l], option{k * out, c})
		}
	}
	return g
}

// solveCover's choice meets the budget, costs what it says, and costs no
// more than the best choice found by trying them all.
func TestSolveCoverEqualsBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 1))
	for trial := range 3000 {
		layers := randomGrid(r, 1+r.IntN(6), 1+r.IntN(4))
		checkCover(t, trial, layers, r.Int64N(mostWeight(layers)+3)) // now and then beyond the grid
	}
}

// checkCover holds solveCover's answer for need of layers to the brute
// force's.
func checkCover(t *testing.T, trial int, layers [][]option, need int64) {
	t.Helper()
	want, feasible := bruteCover(layers, need)
	pick, cost, ok := solveCover(layers, need)
	if ok != feasible || ok && (pickedWeight(layers, pick, need) < need || cost != pickedCost(layers, pick) || !within(cost-want, 1e-9*(1+math.Abs(want)))) {
		t.Fatalf("trial %d: need %d of %v: ok %v pick %v cost %v, brute force %v %v", trial, need, layers, ok, pick, cost, feasible, want)
	}
}

// edgeGrid is randomGrid's harder cousin: layers with ratio 0 alone (no
// points), outs of a model's size next to tiny ones, costs far apart,
// negative (1 − cosine where a cosine rounds above 1) and falling as the
// weight rises.
func edgeGrid(r *rand.Rand, layers, options int) [][]option {
	g := make([][]option, layers)
	for l := range g {
		out := int64(1 + r.IntN(5))
		if r.IntN(3) == 0 {
			out = int64(1 + r.IntN(1<<20))
		}
		g[l] = []option{{0, 0}}
		for range r.IntN(options + 1) {
			k := int64(r.IntN(9))
			c := []float64{float64(r.IntN(3)), -1e-9 * r.Float64(), 1e6 * r.Float64(), 2*r.Float64() - 1, float64(k) * r.Float64()}[r.IntN(5)]
			g[l] = append(g[l], option{k * out, c})
		}
	}
	return g
}

// On edgeGrid, with budgets of exactly nothing and exactly the most the
// grid prunes among the random ones.
func TestSolveCoverEdgeGridsEqualsBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 3))
	for trial := range 20000 {
		layers := edgeGrid(r, 1+r.IntN(5), 1+r.IntN(4))
		most := mostWeight(layers)
		checkCover(t, trial, layers, []int64{0, most, r.Int64N(most + 3)}[r.IntN(3)])
	}
}

// plainCover is the textbook programme over every weight up to need:
// exact, and slow but for small weights.
func plainCover(layers [][]option, need int64) (float64, bool) {
	best := make([]float64, need+1) // least cost reaching weight w (need: at least)
	for w := range best {
		best[w] = math.Inf(1)
	}
	best[0] = 0
	for _, opts := range layers {
		next := make([]float64, need+1)
		for w := range next {
			next[w] = math.Inf(1)
		}
		for w, c := range best {
			for _, o := range opts {
				to := min(int64(w)+o.weight, need)
				next[to] = min(next[to], c+o.cost)
			}
		}
		best = next
	}
	return best[need], !math.IsInf(best[need], 1)
}

// On larger grids, where the bounds and the reduction do the work.
func TestSolveCoverEqualsPlainDP(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 2))
	for trial := range 200 {
		layers := randomGrid(r, 10+r.IntN(40), 2+r.IntN(8))
		need := r.Int64N(mostWeight(layers) + 1)
		want, _ := plainCover(layers, need)
		pick, cost, ok := solveCover(layers, need)
		if !ok || !within(cost-want, 1e-9) || pickedWeight(layers, pick, need) < need {
			t.Fatalf("trial %d: %d layers, need %d: ok %v cost %v, want %v", trial, len(layers), need, ok, cost, want)
		}
	}
}

// realisticGrid is a model's worth of layers (the shapes of a Llama-style
// block, repeated) with a curve per layer over ten ratios 0.05…0.95 (and 0):
// costs rising as a power of the ratio, each layer its own scale, with
// noise.
func realisticGrid(layers int) [][]option {
	r := rand.New(rand.NewPCG(500, 10))
	shapes := [][2]int64{{4096, 4096}, {4096, 1024}, {4096, 1024}, {4096, 4096}, {4096, 14336}, {4096, 14336}, {14336, 4096}}
	g := make([][]option, layers)
	for l := range g {
		in, out := shapes[l%len(shapes)][0], shapes[l%len(shapes)][1]
		scale, power := 0.05+r.Float64(), 1.2+r.Float64()
		g[l] = []option{{0, 0}}
		for i := range 10 {
			ratio := float64(2*i+1) / 20
			k := int64(float64(in) * ratio)
			g[l] = append(g[l], option{k * out, scale*math.Pow(ratio, power) + 0.01*r.Float64()})
		}
	}
	return g
}

// BenchmarkAllocate: 500 layers × 10 ratios (and 0), budgets of a fifth
// and a half of the weights; the target is under a second.
func BenchmarkAllocate(b *testing.B) {
	layers := realisticGrid(500)
	var total int64
	for l := range layers {
		total += layers[l][10].weight * 20 / 19
	}
	for _, f := range []float64{0.2, 0.5} {
		b.Run(fmt.Sprintf("budget=%g", f), func(b *testing.B) {
			for b.Loop() {
				if _, _, ok := solveCover(layers, int64(f*float64(total))); !ok {
					b.Fatal("infeasible")
				}
			}
		})
	}
}
