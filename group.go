package chanprune

import (
	"fmt"
	"math"
)

// Grouped pruning removes whole blocks of channels, such as the heads of an
// attention output projection's input. The group choice is turned into a
// channel order (the groups by ascending score, each group's channels
// ascending), so the pruned channels of every ratio are a prefix of it and
// everything downstream — the direct and Gram paths, the sweep's prefix
// sums, Layer compaction — runs on channels unchanged.

// GroupReduce says how one score per channel becomes one score per group.
type GroupReduce int

// The reductions of WithGroups.
const (
	ReduceMean GroupReduce = iota // the mean of the group's scores, the default
	ReduceSum                     // their sum
	ReduceMax                     // their maximum
)

var groupReduceNames = [...]string{ReduceMean: "mean", ReduceSum: "sum", ReduceMax: "max"}

// String returns "mean", "sum" or "max".
func (r GroupReduce) String() string {
	if r < ReduceMean || r > ReduceMax {
		return fmt.Sprintf("GroupReduce(%d)", int(r))
	}
	return groupReduceNames[r]
}

// ParseGroupReduce returns the reduction named "mean", "sum" or "max".
func ParseGroupReduce(name string) (GroupReduce, error) {
	for r, n := range groupReduceNames {
		if n == name {
			return GroupReduce(r), nil
		}
	}
	return 0, fmt.Errorf("group reduction %q: want mean, sum or max: %w", name, ErrOption)
}

// WithGroups makes NewEvaluator and the Layer constructors prune whole
// groups: the In channels form In/size contiguous groups, scores hold one
// value per group or one per channel that reduce turns into one per group,
// and a ratio prunes the int(groups·ratio) lowest-scoring groups (ties to
// the lower group), all their channels. Metrics.NumPruned counts channels,
// NumPrunedGroups groups, and Tie counts the channels of tied groups. size
// must divide In; size 1 is channel pruning.
func WithGroups(size int, reduce GroupReduce) Option {
	return func(c *config) { c.groupSize, c.groupReduce, c.groupsSet = size, reduce, true }
}

// grouping is an Evaluator's or a Layer constructor's group layout, with
// scratch for one score set's group order.
type grouping struct {
	size   int // channels per group; 1 for channel pruning
	reduce GroupReduce
	scores []float64 // one score per group, from reduceScores
	order  []int32   // the groups by ascending score, ties by index
}

// newGrouping checks cfg's groups against in channels.
func newGrouping(cfg config, in int) (grouping, error) {
	g, err := groupLayout(cfg, in)
	if err != nil {
		return grouping{}, err
	}
	g.scores = make([]float64, in/g.size)
	g.order = make([]int32, in/g.size)
	return g, nil
}

// groupLayout is newGrouping without the scratch, which takes memory in in:
// enough for wholeGroups.
func groupLayout(cfg config, in int) (grouping, error) {
	g := grouping{size: 1}
	if cfg.groupsSet {
		g.size, g.reduce = cfg.groupSize, cfg.groupReduce
	}
	if g.size <= 0 || in%g.size != 0 {
		return grouping{}, fmt.Errorf("WithGroups(%d): the group size must divide the layer's %d input channels: %w", cfg.groupSize, in, ErrShape)
	}
	if g.reduce < ReduceMean || g.reduce > ReduceMax {
		return grouping{}, fmt.Errorf("WithGroups: reduction %v: want ReduceMean, ReduceSum or ReduceMax: %w", g.reduce, ErrOption)
	}
	return g, nil
}

func (g *grouping) groups() int { return len(g.order) }

// reduceScores checks scores, one per channel or one per group, and sets
// g.scores to one score per group.
func (g *grouping) reduceScores(scores []float32) error {
	in := g.groups() * g.size
	switch len(scores) {
	case in:
		if err := checkScores(scores, in); err != nil {
			return err
		}
		for i := range g.scores {
			g.scores[i] = reduceGroup(scores[i*g.size:(i+1)*g.size], g.reduce)
			if math.IsNaN(g.scores[i]) {
				return fmt.Errorf("scores: group %d mixes +Inf and -Inf, so its %v is NaN: %w", i, g.reduce, ErrNaNScore)
			}
		}
	case g.groups():
		if err := checkScores(scores, g.groups()); err != nil {
			return err
		}
		for i, s := range scores {
			g.scores[i] = float64(s)
		}
	default:
		return fmt.Errorf("scores: %d values, want %d (one per input channel) or %d (one per group of %d channels): %w",
			len(scores), in, g.groups(), g.size, ErrShape)
	}
	return nil
}

// reduceGroup returns one group's score from its channels' scores, in
// float64 so that the reduction creates no ties of its own.
func reduceGroup(s []float32, reduce GroupReduce) float64 {
	v := float64(s[0])
	for _, x := range s[1:] {
		if reduce == ReduceMax {
			v = max(v, float64(x))
		} else {
			v += float64(x)
		}
	}
	if reduce == ReduceMean {
		v /= float64(len(s))
	}
	return v
}

// orderChannels fills order (In entries) with the channels in pruning
// order, from the group scores that reduceScores set: the groups by
// ascending score, each group's channels ascending.
func (g *grouping) orderChannels(order []int32) {
	pruneOrder(g.order, g.scores)
	for i, grp := range g.order {
		for j := range g.size {
			order[i*g.size+j] = grp*int32(g.size) + int32(j)
		}
	}
}

// cut returns the groups and the channels that ratio prunes.
func (g *grouping) cut(ratio float64) (groups, channels int) {
	n := NumPruned(g.groups(), ratio)
	return n, n * g.size
}

// tie returns the tie at the cut after n groups of the order that
// orderChannels set, counted in channels.
func (g *grouping) tie(n int) Tie {
	t := tieAt(g.order, g.scores, n)
	t.Pruned *= g.size
	t.Kept *= g.size
	return t
}

// wholeGroups checks that keep, strictly increasing channels, holds only
// whole groups.
func (g *grouping) wholeGroups(keep []int) error {
	for i := 0; i < len(keep); i += g.size {
		first := keep[i]
		if first%g.size != 0 || i+g.size > len(keep) || keep[i+g.size-1] != first+g.size-1 {
			return fmt.Errorf("keep[%d] = %d: with WithGroups(%d) keep must list whole groups: %w", i, first, g.size, ErrShape)
		}
	}
	return nil
}
