package chanprune

import (
	"cmp"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// The orders of iterative and obs against float64 references written from
// their definitions, on edge cases the other tests lack: tied, constant
// and all-constant channels, fewer tokens than channels, damps from the
// default to 10⁴, Iterations above the batches observed, one batch; and
// the same scores for any GOMAXPROCS and kernel.
//
// The data are dyadic (activations integers in [−4, 4], weights and bias
// multiples of 1/8, the first batch 1, 2, 4 or 8 tokens so that its means
// μ₀ are dyadic too): every float32 sum the library forms (x·Wᵀ, s·W,
// x − μ₀, the Gram blocks of Σ(x − μ₀)ᵀ(x − μ₀) and of WᵀW) is then exact,
// and only float64 rounding is left. iterative's arithmetic without
// calibration is then exact but for the square roots and the means, which
// the reference forms alike: its order must match exactly, ties included.
// obs's inverse and downdates round: a cost carries a relative error of
// order n·u·κ₁(A) per elimination (u = 2⁻⁵³), over at most n steps; the
// orders must match except where the library's pick costs, in the
// reference, within 64·n²·κ₁(A)·u of the reference's (duplicated channels,
// tied in exact arithmetic, are such a case: either may go first). Where
// every channel is constant, A = I and its inverse, Q = WᵀW and Q's
// updates are exact too: there the ties go to the lower index exactly.

func dyadicLayer(r *rand.Rand, in, out int) Linear {
	l := Linear{In: in, Out: out, Weight: make([]float32, in*out), Bias: make([]float32, out)}
	for i := range l.Weight {
		l.Weight[i] = float32(r.IntN(17)-8) / 8
	}
	for i := range l.Bias {
		l.Bias[i] = float32(r.IntN(17)-8) / 8
	}
	return l
}

// dyadicCase returns a layer and [tokens, in] batches of the given kind:
// 1 constant channels, 2 channel 2 a copy of channel 0 (activations and
// weight), 3 every channel constant, 4 fewer tokens than channels.
func dyadicCase(r *rand.Rand, kind int) (Linear, [][]float32) {
	in, out := 4+r.IntN(37), 3+r.IntN(18)
	l := dyadicLayer(r, in, out)
	tokens := []int{1 << r.IntN(4)}
	for range r.IntN(3) {
		tokens = append(tokens, 1+r.IntN(2*in))
	}
	if kind == 4 {
		tokens = []int{1 << r.IntN(2), 1 + r.IntN(in/2)}
	}
	batches := make([][]float32, len(tokens))
	for b, n := range tokens {
		x := make([]float32, n*in)
		for i := range x {
			x[i] = float32(r.IntN(9) - 4)
		}
		for t := range n {
			row := x[t*in : (t+1)*in]
			switch kind {
			case 1:
				row[1], row[in-1] = 3, 0
			case 2:
				row[2] = row[0]
			case 3:
				for c := range row {
					row[c] = float32(c%3 - 1)
				}
			}
		}
		batches[b] = x
	}
	if kind == 2 {
		for o := range out {
			l.Weight[o*in+2] = l.Weight[o*in]
		}
	}
	if kind == 3 { // equal column norms, so A = I ties by ‖W[:,c]‖
		for o := range out {
			l.Weight[o*in+3] = -l.Weight[o*in+1]
		}
	}
	return l, batches
}

func observeRows(t *testing.T, name string, l Linear, opts EstimatorOptions, batches [][]float32) ([]float32, error) {
	t.Helper()
	e := mustEstimator(t, name, l, opts)
	for i, x := range batches {
		if err := e.Observe(x, []int{len(x) / l.In, l.In}); err != nil {
			t.Fatalf("%s: batch %d: %v", name, i, err)
		}
	}
	return e.Scores()
}

// positionsOrder returns the channels by their scores, which are positions.
func positionsOrder(scores []float32) []int {
	order := make([]int, len(scores))
	for c, s := range scores {
		order[int(s)] = c
	}
	return order
}

// invert64 returns a⁻¹ by Gauss–Jordan with partial pivoting.
func invert64(a [][]float64) [][]float64 {
	n := len(a)
	m := make([][]float64, n)
	for i := range m {
		m[i] = append(slices.Clone(a[i]), make([]float64, n)...)
		m[i][n+i] = 1
	}
	for col := range n {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[piv][col]) {
				piv = r
			}
		}
		m[col], m[piv] = m[piv], m[col]
		pivot := m[col][col]
		for q := range m[col] {
			m[col][q] /= pivot
		}
		for r := range n {
			if f := m[r][col]; r != col && f != 0 {
				for q := range 2 * n {
					m[r][q] -= f * m[col][q]
				}
			}
		}
	}
	for i := range m {
		m[i] = m[i][n:]
	}
	return m
}

// refOBSSteps runs obs's definition: A = S + λI (I where S = 0), A⁻¹
// formed explicitly and downdated by rank one, W' refitted explicitly. It
// returns the order, every step's costs and κ₁(A).
func refOBSSteps(l Linear, batches [][]float32, damp float64) (order []int, costs [][]float64, kappa float64) {
	in := l.In
	mean, n := make([]float64, in), 0.0
	for _, x := range batches {
		for i, v := range x {
			mean[i%in] += float64(v)
		}
		n += float64(len(x) / in)
	}
	for c := range mean {
		mean[c] /= n
	}
	a := make([][]float64, in)
	for i := range a {
		a[i] = make([]float64, in)
	}
	for _, x := range batches {
		for t := range len(x) / in {
			for i := range in {
				for j := range in {
					a[i][j] += (float64(x[t*in+i]) - mean[i]) * (float64(x[t*in+j]) - mean[j])
				}
			}
		}
	}
	var trace float64
	for i := range in {
		trace += a[i][i]
	}
	for i := range in {
		a[i][i] += damp * trace / float64(in)
		if trace == 0 {
			a[i][i] = 1
		}
	}
	norm1 := func(m [][]float64) (v float64) {
		for j := range m {
			var s float64
			for i := range m {
				s += math.Abs(m[i][j])
			}
			v = max(v, s)
		}
		return v
	}
	inv := invert64(a)
	kappa = norm1(a) * norm1(inv)
	w := make([][]float64, l.Out)
	for o := range w {
		w[o] = make([]float64, in)
		for c := range in {
			w[o][c] = float64(l.Weight[o*in+c])
		}
	}
	removed := make([]bool, in)
	for range in {
		cost, q := make([]float64, in), -1
		for c := range in {
			if removed[c] {
				continue
			}
			for o := range w {
				cost[c] += w[o][c] * w[o][c]
			}
			if cost[c] /= inv[c][c]; q < 0 || cost[c] < cost[q] {
				q = c
			}
		}
		order, costs = append(order, q), append(costs, cost)
		removed[q] = true
		row, d := slices.Clone(inv[q]), inv[q][q]
		for o := range w {
			wq := w[o][q]
			for c := range in {
				w[o][c] -= wq * row[c] / d
			}
		}
		for i := range in {
			for j := range in {
				inv[i][j] -= row[i] * row[j] / d
			}
		}
	}
	return order, costs, kappa
}

func TestOBSOrderEdgeCases(t *testing.T) {
	r := newRand(2024)
	for trial := range 100 {
		kind := trial % 5
		l, batches := dyadicCase(r, kind)
		for _, damp := range []float64{0, 0.01, 3, 1e4} {
			got, err := observeRows(t, "obs", l, EstimatorOptions{Damp: damp}, batches)
			if err != nil {
				t.Fatalf("trial %d (kind %d) damp %v: %v", trial, kind, damp, err)
			}
			want, costs, kappa := refOBSSteps(l, batches, cmp.Or(damp, DefaultDamp))
			margin := 64 * float64(l.In*l.In) * kappa * 0x1p-53
			exact := kind == 3 // A = I: the inverse, Q and its updates are exact, and so are the ties
			order := positionsOrder(got)
			for s, c := range order {
				if c == want[s] {
					continue
				}
				if d := (costs[s][c] - costs[s][want[s]]) / math.Abs(costs[s][want[s]]); exact || !(d <= margin) {
					t.Errorf("trial %d (kind %d) %d→%d damp %v, step %d: obs removes %d, the definition %d (costs %v and %v, margin %.2g)",
						trial, kind, l.In, l.Out, damp, s, c, want[s], costs[s][c], costs[s][want[s]], margin)
				}
				break // past a near tie the orders may part
			}
		}
	}
}

// refIterativeOrder runs iterative's definition for iterations ≥
// len(batches): Model-Optimizer's schedule, contributions ‖s_t +
// x_{t,c}·W[:,c]‖ (1e-8 under the root) formed directly, ties to the lower
// index; the unpruned channels follow by ascending accumulator.
func refIterativeOrder(l Linear, batches [][]float32, iterations int) []int {
	in := l.In
	prunes := make([]int, iterations) // get_pruning_schedule
	for i := range prunes {
		if in >= iterations {
			prunes[i] = in / iterations
			if i < in%iterations {
				prunes[i]++
			}
		}
	}
	for j := 1; in < iterations && j <= in; j++ {
		prunes[j*iterations/in-1] = 1
	}
	acc, isPruned := make([]float64, in), make([]bool, in)
	var pruned []int
	w := func(o, c int) float64 { return float64(l.Weight[o*in+c]) }
	byAcc := func() []int {
		var rest []int
		for c, p := range isPruned {
			if !p {
				rest = append(rest, c)
			}
		}
		slices.SortStableFunc(rest, func(a, b int) int { return cmp.Compare(acc[a], acc[b]) })
		return rest
	}
	for i, x := range batches {
		tokens := len(x) / in
		mean := make([]float64, in)
		for t := range tokens {
			xt := x[t*in : (t+1)*in]
			s := make([]float64, l.Out)
			for o := range s {
				s[o] = float64(l.Bias[o])
				for c, v := range xt {
					if isPruned[c] {
						s[o] += float64(v) * w(o, c)
					}
				}
			}
			for c, v := range xt {
				var sq float64
				for o := range s {
					d := s[o] + float64(v)*w(o, c)
					sq += d * d
				}
				mean[c] += math.Sqrt(sq + 1e-8)
			}
		}
		for c := range acc {
			if !isPruned[c] {
				acc[c] += mean[c] / float64(tokens)
			}
		}
		if m := prunes[i]; m > 0 {
			for _, c := range byAcc()[:m] {
				pruned, isPruned[c] = append(pruned, c), true
			}
			clear(acc)
		}
	}
	return append(pruned, byAcc()...)
}

func TestIterativeOrderEdgeCases(t *testing.T) {
	r := newRand(77)
	for trial := range 200 {
		kind := trial % 5
		l, batches := dyadicCase(r, kind)
		if kind == 2 { // a second tied pair, channels 1 and 3
			for _, x := range batches {
				for tk := range len(x) / l.In {
					x[tk*l.In+3] = x[tk*l.In+1]
				}
			}
			for o := range l.Out {
				l.Weight[o*l.In+3] = l.Weight[o*l.In+1]
			}
		}
		iterations := len(batches) + []int{0, 0, 1, l.In, 3 * l.In}[r.IntN(5)]
		if trial%7 == 0 {
			batches, iterations = batches[:1], 1
		}
		got, err := observeRows(t, "iterative", l, EstimatorOptions{Iterations: iterations}, batches)
		if err != nil {
			t.Fatal(err)
		}
		if order, want := positionsOrder(got), refIterativeOrder(l, batches, iterations); !slices.Equal(order, want) {
			t.Errorf("trial %d (kind %d) %d→%d, %d of %d iterations: order %v, want %v", trial, kind, l.In, l.Out, len(batches), iterations, order, want)
		}
	}
}

// The scores are the same for any GOMAXPROCS (random data) and on every
// kernel (dyadic data, where every kernel's float32 sums are exact).
func TestOrderEstimatorsDeterministic(t *testing.T) {
	r := newRand(5)
	for trial := range 6 {
		in, out := 4+r.IntN(70), 3+r.IntN(30)
		random, dyadic := randLayer(r, in, out, true), dyadicLayer(r, in, out)
		tokens := []int{1 << r.IntN(4), 300, 1 + r.IntN(40)}
		xr, xd := randBatches(r, in, tokens...), make([][]float32, len(tokens))
		for b, x := range xr {
			xd[b] = make([]float32, len(x))
			for i := range x {
				xd[b][i] = float32(r.IntN(9) - 4)
			}
		}
		for _, name := range []string{"obs", "iterative"} {
			opts := EstimatorOptions{}
			if name == "iterative" {
				opts.Iterations = len(tokens) + trial%2
			}
			scores := func(l Linear, batches [][]float32, procs int, kern string) []float32 {
				t.Setenv(KernelEnv, kern)
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				s, err := observeRows(t, name, l, opts, batches)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			base := scores(random, xr, 2, "")
			for _, procs := range []int{1, 3, 8} {
				if s := scores(random, xr, procs, ""); !slices.Equal(s, base) {
					t.Errorf("trial %d %s: GOMAXPROCS %d: %v, with 2: %v", trial, name, procs, s, base)
				}
			}
			base = scores(dyadic, xd, 2, "")
			for _, k := range Kernels() {
				if s := scores(dyadic, xd, 2, k.Name); k.Supported && !slices.Equal(s, base) {
					t.Errorf("trial %d %s: kernel %s: %v, default: %v", trial, name, k.Name, s, base)
				}
			}
		}
	}
}
