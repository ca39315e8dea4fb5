package chanprune

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// NumPruned returns how many of in channels a prune ratio removes:
// int(in*ratio), the truncation of the float64 product, as Model-Optimizer
// computes it (in=100, ratio=0.29 gives 28). It returns 0 for a ratio outside
// [0, 1] or NaN; Evaluate reports those as ErrRatio.
func NumPruned(in int, ratio float64) int {
	if in <= 0 || !(ratio >= 0 && ratio <= 1) {
		return 0
	}
	return int(float64(in) * ratio)
}

// PrunedChannels returns, in ascending order, the channels that ratio prunes:
// the NumPruned(len(scores), ratio) lowest scores, ties going to the lower
// channel index. ±Inf scores are valid; a NaN score is an error.
func PrunedChannels(scores []float32, ratio float64) ([]int, error) {
	if err := checkRatio(ratio); err != nil {
		return nil, err
	}
	if err := checkScores(scores, len(scores)); err != nil {
		return nil, err
	}
	order := make([]int32, len(scores))
	pruneOrder(order, scores)
	pruned := make([]int, NumPruned(len(scores), ratio))
	for i := range pruned {
		pruned[i] = int(order[i])
	}
	slices.Sort(pruned)
	return pruned, nil
}

// A Tie is a group of channels with equal scores that the cut splits: the
// lower channel indexes of the group are pruned, the higher kept.
// torch.topk promises no order among ties, so it may prune another Pruned
// of the Pruned+Kept channels. The zero Tie means no equal scores straddle
// the cut.
type Tie struct {
	Score  float32 // the score the group shares (a group's, rounded to float32, under WithGroups)
	Pruned int     // channels of the group that are pruned
	Kept   int     // channels of the group that are kept
}

// Size returns the number of channels in the tied group, 0 if none.
func (t Tie) Size() int { return t.Pruned + t.Kept }

// TiesAtCut returns the group of equal scores that the cut of ratio
// splits, or the zero Tie if the NumPruned(len(scores), ratio) lowest
// scores are all below the rest.
func TiesAtCut(scores []float32, ratio float64) (Tie, error) {
	if err := checkRatio(ratio); err != nil {
		return Tie{}, err
	}
	if err := checkScores(scores, len(scores)); err != nil {
		return Tie{}, err
	}
	order := make([]int32, len(scores))
	pruneOrder(order, scores)
	return tieAt(order, scores, NumPruned(len(scores), ratio)), nil
}

// tieAt returns the tie at the cut after order[:k] (pruneOrder), counted in
// entries of order.
func tieAt[S float32 | float64](order []int32, scores []S, k int) Tie {
	if k == 0 || k == len(order) || scores[order[k-1]] != scores[order[k]] {
		return Tie{}
	}
	score := scores[order[k]]
	t := Tie{Score: float32(score)}
	for i := k - 1; i >= 0 && scores[order[i]] == score; i-- {
		t.Pruned++
	}
	for i := k; i < len(order) && scores[order[i]] == score; i++ {
		t.Kept++
	}
	return t
}

// allChannels sets ch to the channels 0, 1, …, len(ch)−1 and returns it.
func allChannels(ch []int32) []int32 {
	for c := range ch {
		ch[c] = int32(c)
	}
	return ch
}

// pruneOrder fills order with the channels (or groups) sorted by ascending
// score, ties by ascending index: order[:k] are the k pruned first.
func pruneOrder[S float32 | float64](order []int32, scores []S) {
	allChannels(order)
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(scores[a], scores[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
}

// splitChannels writes the kept channels then the pruned ones, each in
// ascending channel order, into perm, given the first k entries of order as
// the pruned set. pruned is scratch of len(perm).
func splitChannels(perm, order []int32, k int, pruned []bool) {
	clear(pruned)
	for _, c := range order[:k] {
		pruned[c] = true
	}
	kept, cut := 0, len(perm)-k
	for c, p := range pruned {
		if p {
			perm[cut] = int32(c)
			cut++
		} else {
			perm[kept] = int32(c)
			kept++
		}
	}
}

func checkRatio(ratio float64) error {
	if !(ratio >= 0 && ratio <= 1) {
		return fmt.Errorf("ratio %v: %w", ratio, ErrRatio)
	}
	return nil
}

func checkScores(scores []float32, in int) error {
	if len(scores) != in {
		return fmt.Errorf("scores: %d values for %d input channels: %w", len(scores), in, ErrShape)
	}
	for c, s := range scores {
		if math.IsNaN(float64(s)) {
			return fmt.Errorf("scores[%d]: %w", c, ErrNaNScore)
		}
	}
	return nil
}
