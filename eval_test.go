package chanprune

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"
)

// referenceCases are random layers and batches on which every kernel and
// method is held to the float64 truth.
var referenceCases = []struct {
	in, out int
	tokens  []int
	ratio   float64
	bias    bool
}{
	{1, 1, []int{1}, 1, true},
	{3, 5, []int{1, 2, 7}, 0.34, true},
	{17, 33, []int{5, 9, 300}, 0.41, false},
	{40, 64, []int{13, 1, 8}, 0.5, true},
	{64, 40, []int{13, 1, 8}, 0.5, true},
	{100, 9, []int{3}, 0.29, true},
	{24, 100, []int{3}, 0.9, true},
	{30, 30, []int{600}, 1, false},
	{257, 300, []int{33}, 0.9, true},
}

// Direct with the tolerance of refEval; Gram, where in ≤ out, with the
// tolerance propagated from its Gram entries (gramTolerance).
func TestMethodsMatchFloat64Reference(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(1)
		for _, tc := range referenceCases {
			l := randLayer(r, tc.in, tc.out, tc.bias)
			batches := randBatches(r, tc.in, tc.tokens...)
			scores := randScores(r, tc.in)
			direct := refEval(l, batches, scores, tc.ratio)
			for _, method := range []Method{Direct, Gram} {
				want := direct
				if method == Gram {
					if tc.in > tc.out {
						continue
					}
					want.tol = gramTolerance(l, batches, prunedMask(scores, want.NumPruned))
				}
				e, err := NewEvaluator(l, WithKernel(kern.name), WithMethod(method))
				if err != nil {
					t.Fatal(err)
				}
				got, err := e.Evaluate(batches, scores, tc.ratio)
				if err != nil {
					t.Fatalf("%d→%d: %v", tc.in, tc.out, err)
				}
				if !want.within(got) || len(got.PerBatch) != len(batches) {
					t.Errorf("%v %d→%d ratio %v: got rmse %v cos %v k %d (%d batches), want %v %v %d ± %v",
						method, tc.in, tc.out, tc.ratio, got.RMSE, got.CosineSimilarity, got.NumPruned,
						len(got.PerBatch), want.RMSE, want.CosineSimilarity, want.NumPruned, want.tol)
				}
			}
		}
	})
}

func TestNumPruned(t *testing.T) {
	for _, tc := range []struct {
		in    int
		ratio float64
		want  int
	}{
		{100, 0.29, 28}, {10, 0.3, 3}, {1024, 0.2, 204}, {7, 0, 0}, {7, 1, 7}, {0, 0.5, 0},
		{7, -0.1, 0}, {7, 1.1, 0}, {7, math.NaN(), 0},
	} {
		if got := NumPruned(tc.in, tc.ratio); got != tc.want {
			t.Errorf("NumPruned(%d, %v) = %d, want %d", tc.in, tc.ratio, got, tc.want)
		}
	}
}

func TestPrunedChannels(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		scores []float32
		ratio  float64
		want   []int
	}{
		{[]float32{3, 1, 2, 0}, 0.5, []int{1, 3}},
		{[]float32{1, 1, 1, 1}, 0.5, []int{0, 1}},                    // ties: lower index
		{[]float32{2, 0, 1, 0, 0}, 0.4, []int{1, 3}},                 // ties among the lowest
		{[]float32{inf, -inf, 0, -inf}, 0.75, []int{1, 2, 3}},        // infinities are ordinary values
		{[]float32{float32(math.Copysign(0, -1)), 0}, 0.5, []int{0}}, // -0 ties +0
		{[]float32{5, 4}, 0, []int{}},
	} {
		got, err := PrunedChannels(tc.scores, tc.ratio)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("PrunedChannels(%v, %v) = %v, %v; want %v", tc.scores, tc.ratio, got, err, tc.want)
		}
	}
	if _, err := PrunedChannels([]float32{1, float32(math.NaN())}, 0.5); !errors.Is(err, ErrNaNScore) {
		t.Errorf("NaN score: got %v, want ErrNaNScore", err)
	}
	if _, err := PrunedChannels([]float32{1}, 2); !errors.Is(err, ErrRatio) {
		t.Errorf("ratio 2: got %v, want ErrRatio", err)
	}
}

func TestRatioZeroIsExact(t *testing.T) {
	r := newRand(2)
	l := randLayer(r, 48, 20, true)
	m, err := Evaluate(l, randBatches(r, 48, 5, 3), randScores(r, 48), 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.RMSE != 0 || m.CosineSimilarity != 1 || m.NumPruned != 0 {
		t.Errorf("ratio 0: rmse %v cos %v k %d, want 0 1 0", m.RMSE, m.CosineSimilarity, m.NumPruned)
	}
}

// Permuting the channels of W, x and the scores together changes nothing
// but the order of the sums.
func TestChannelPermutationInvariance(t *testing.T) {
	r := newRand(3)
	in, out := 37, 29
	l := randLayer(r, in, out, true)
	batches := randBatches(r, in, 6, 11)
	scores := randScores(r, in)
	base, err := Evaluate(l, batches, scores, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	perm := r.Perm(in)
	pl := Linear{In: in, Out: out, Bias: l.Bias, Weight: permuteColumns(l.Weight, in, perm)}
	pb := [][]float32{permuteColumns(batches[0], in, perm), permuteColumns(batches[1], in, perm)}
	got, err := Evaluate(pl, pb, permuteColumns(scores, in, perm), 0.3)
	if err != nil {
		t.Fatal(err)
	}
	tol := refEval(l, batches, scores, 0.3).tol
	if !within(got.RMSE-base.RMSE, 2*tol.rmse) || !within(got.CosineSimilarity-base.CosineSimilarity, 2*tol.cos) {
		t.Errorf("permuted: rmse %v cos %v, want %v %v", got.RMSE, got.CosineSimilarity, base.RMSE, base.CosineSimilarity)
	}
}

// permuteColumns returns a copy of the rows of x with column perm[c] moved to c.
func permuteColumns(x []float32, in int, perm []int) []float32 {
	y := make([]float32, len(x))
	for t := 0; t < len(x)/in; t++ {
		for c, from := range perm {
			y[t*in+c] = x[t*in+from]
		}
	}
	return y
}

// Without bias the layer is linear: scaling x by a power of two scales
// every product exactly, so rmse scales by |c| and cos stays, bit for bit.
func TestScalingWithoutBias(t *testing.T) {
	r := newRand(4)
	l := randLayer(r, 40, 24, false)
	batches := randBatches(r, 40, 7, 2)
	scores := randScores(r, 40)
	base, err := Evaluate(l, batches, scores, 0.4)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []float32{-4, 0.5, 1024} {
		scaled := make([][]float32, len(batches))
		for b, x := range batches {
			scaled[b] = make([]float32, len(x))
			for i, v := range x {
				scaled[b][i] = c * v
			}
		}
		got, err := Evaluate(l, scaled, scores, 0.4)
		if err != nil {
			t.Fatal(err)
		}
		if got.RMSE != base.RMSE*math.Abs(float64(c)) || got.CosineSimilarity != base.CosineSimilarity {
			t.Errorf("x·%v: rmse %v cos %v, want %v %v", c, got.RMSE, got.CosineSimilarity,
				base.RMSE*math.Abs(float64(c)), base.CosineSimilarity)
		}
	}
}

// The metrics are unweighted means over batches, so two halves combine by
// their batch counts into the whole.
func TestBatchesCombineByCount(t *testing.T) {
	r := newRand(5)
	l := randLayer(r, 30, 18, true)
	batches := randBatches(r, 30, 4, 9, 1, 6, 3)
	scores := randScores(r, 30)
	e, err := NewEvaluator(l)
	if err != nil {
		t.Fatal(err)
	}
	whole, err1 := e.Evaluate(batches, scores, 0.5)
	first, err2 := e.Evaluate(batches[:2], scores, 0.5)
	second, err3 := e.Evaluate(batches[2:], scores, 0.5)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	rmse := (2*first.RMSE + 3*second.RMSE) / 5
	cos := (2*first.CosineSimilarity + 3*second.CosineSimilarity) / 5
	const rel = 4 * 0x1p-52 // a few roundings of the means themselves
	if !within(rmse-whole.RMSE, rel*whole.RMSE) || !within(cos-whole.CosineSimilarity, rel) {
		t.Errorf("halves give %v %v, whole %v %v", rmse, cos, whole.RMSE, whole.CosineSimilarity)
	}
	for b, bm := range whole.PerBatch {
		half := first.PerBatch
		if b >= 2 {
			half, b = second.PerBatch, b-2
		}
		if half[b] != bm {
			t.Errorf("batch %d: %+v alone, %+v in the whole", b, half[b], bm)
		}
	}
}

func TestDeterministicAcrossGOMAXPROCS(t *testing.T) {
	r := newRand(6)
	wide := randLayer(r, 70, 700, true)  // several chunks per batch
	small := randLayer(r, 512, 40, true) // one chunk of outputs: one batch is cut by tokens too
	cases := []struct {
		l       Linear
		method  Method
		batches [][]float32
	}{
		{wide, Auto, randBatches(r, 70, 9)},                        // fewer batches than workers
		{wide, Auto, randBatches(r, 70, 5, 17, 1, 8, 3, 2, 11, 4)}, // more
		{wide, Gram, randBatches(r, 70, 5, 17, 1, 8, 3, 2, 11, 4)}, // side by side (gram_side.go), the rest shared
		{small, Direct, randBatches(r, 512, 413)},                  // one batch, as a Stream is fed
		{small, Direct, randBatches(r, 512, 413, 29)},
		{small, Direct, randBatches(r, 512, 413, 29, 77)}, // whole batches, then one shared (direct.go)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range cases {
		scores := randScores(r, c.l.In)
		var first Metrics
		for i, procs := range []int{1, 2, 7, 16} {
			runtime.GOMAXPROCS(procs)
			var m Metrics
			e, err := NewEvaluator(c.l, WithMethod(c.method))
			if err == nil {
				err = e.EvaluateTo(&m, c.batches, scores, 0.25)
			}
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = m
			} else if m.RMSE != first.RMSE || m.CosineSimilarity != first.CosineSimilarity ||
				!slices.Equal(m.PerBatch, first.PerBatch) {
				t.Errorf("GOMAXPROCS=%d: %v %v, GOMAXPROCS=1: %v %v", procs, m.RMSE, m.CosineSimilarity, first.RMSE, first.CosineSimilarity)
			}
		}
	}
}

func TestInputsUnmodified(t *testing.T) {
	r := newRand(7)
	l := randLayer(r, 33, 65, true)
	batches := randBatches(r, 33, 7, 12)
	scores := randScores(r, 33)
	before := checksum(append([][]float32{l.Weight, l.Bias, scores}, batches...)...)
	if _, err := Evaluate(l, batches, scores, 0.6); err != nil {
		t.Fatal(err)
	}
	if _, err := PrunedChannels(scores, 0.6); err != nil {
		t.Fatal(err)
	}
	if after := checksum(append([][]float32{l.Weight, l.Bias, scores}, batches...)...); after != before {
		t.Error("inputs changed")
	}
}

func TestEvaluateToAllocatesNothing(t *testing.T) {
	r := newRand(12)
	l := randLayer(r, 64, 600, true)
	scores := randScores(r, 64)
	planned, err := NewEvaluator(l, WithWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	direct, err := NewEvaluator(l, WithWorkers(2), WithMethod(Direct))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		e       *Evaluator
		batches [][]float32
	}{
		{planned, randBatches(r, 64, 9)},
		{planned, randBatches(r, 64, 3, 5, 2)},
		{direct, randBatches(r, 64, 300)}, // one batch cut into pieces that the workers share
	} {
		e, batches := c.e, c.batches
		var m Metrics
		if err := e.EvaluateTo(&m, batches, scores, 0.3); err != nil { // sizes the scratch
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(allocRuns, func() {
			if err := e.EvaluateTo(&m, batches, scores, 0.3); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%d batches: %v allocations per call, want 0", len(batches), allocs)
		}
	}
}

// TestSweepDeterministicAcrossGOMAXPROCS: a sweep on the Gram path (G in
// strips formed by several workers, the rows of H⊙G summed for every score
// set; or small batches side by side, one per worker) gives the same points
// bit for bit however many workers run it.
func TestSweepDeterministicAcrossGOMAXPROCS(t *testing.T) {
	r := newRand(61)
	// rows enough that the workers handed slots take some of them: several
	// strips a tile row, many tile rows
	l := randLayer(r, 1000, 8, true)
	var sets []ScoreSet
	for i := range 5 {
		sets = append(sets, ScoreSet{Name: fmt.Sprint(i), Scores: randScores(r, l.In)})
	}
	ratios := []float64{0.1, 0.3, 0.6, 0.9}
	// A batch above sideBatchFloats makes every batch shared; nine small
	// ones go side by side, the last batches mod workers shared.
	for _, batches := range [][][]float32{randBatches(r, 1000, 9, 300, 130), randBatches(r, 1000, 9, 40, 130, 7, 64, 3, 100, 1, 20)} {
		sweepSameForAnyGOMAXPROCS(t, l, batches, sets, ratios)
	}
}

// TestSweepSideChunks: a sweep side by side recorded in chunks of one
// batch a worker (sideSums cut down) gives the points of one worker, bit
// for bit, however many workers run it.
func TestSweepSideChunks(t *testing.T) {
	r := newRand(67)
	l := randLayer(r, 300, 8, true)
	sets := []ScoreSet{{Name: "a", Scores: randScores(r, l.In)}, {Name: "b", Scores: randScores(r, l.In)}}
	batches := randBatches(r, 300, 9, 40, 13, 7, 64, 3, 100, 1, 20, 5, 33)
	defer func(n int) { sideSums = n }(sideSums)
	sideSums = 1
	sweepSameForAnyGOMAXPROCS(t, l, batches, sets, []float64{0.2, 0.5})
}

func sweepSameForAnyGOMAXPROCS(t *testing.T, l Linear, batches [][]float32, sets []ScoreSet, ratios []float64) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0)) // the tests after it run as before
	var first []Point
	for i, procs := range []int{1, 2, 7, 16} {
		runtime.GOMAXPROCS(procs)
		e, err := NewEvaluator(l, WithMethod(Gram))
		if err != nil {
			t.Fatal(err)
		}
		points, err := e.Sweep(batches, sets, ratios)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = points
			continue
		}
		for p := range points {
			if a, b := points[p], first[p]; a.RMSE != b.RMSE || a.CosineSimilarity != b.CosineSimilarity ||
				!slices.Equal(a.PerBatch, b.PerBatch) {
				t.Errorf("GOMAXPROCS=%d, point %d: %v %v, GOMAXPROCS=1: %v %v", procs, p, a.RMSE, a.CosineSimilarity, b.RMSE, b.CosineSimilarity)
			}
		}
	}
}
