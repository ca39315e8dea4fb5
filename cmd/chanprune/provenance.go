package main

import (
	"fmt"

	"github.com/chanprune/chanprune"
)

// methodName names the method a result ran in text, JSON and CSV: "direct"
// or "gram", or "mixed" when its batches ran different methods (--method
// auto plans each batch of a stream).
func methodName(m chanprune.Method) string {
	if m == chanprune.Auto {
		return "mixed"
	}
	return m.String()
}

// warnTies prints one line on stderr for each point whose cut splits a
// group of equal scores, since another tie-break (torch.topk's) may prune
// other channels of the group.
func warnTies(where string, points []chanprune.Point) {
	for _, p := range points {
		warnTie(where, p.Set, p.Ratio, p.Tie)
	}
}

// warnTie is warnTies for one cut.
func warnTie(where, set string, ratio float64, t chanprune.Tie) {
	if t.Size() == 0 {
		return
	}
	fmt.Fprintf(progressOut, "chanprune: warning: %s: scores %s at ratio %v: %d channels share the score %v at the cut and the %d of them with the lowest indexes are pruned; another tie-break (torch.topk's) may prune others\n",
		where, set, ratio, t.Size(), t.Score, t.Pruned)
}
