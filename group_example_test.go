package chanprune_test

import (
	"fmt"

	"github.com/chanprune/chanprune"
)

// Pruning whole heads: the 4 inputs of the layer are 2 heads of 2
// channels, scored per channel and reduced to a mean per head (head 0:
// 0.5, head 1: 0.2), so ratio 0.5 prunes head 1, channels 2 and 3.
func ExampleWithGroups() {
	layer := chanprune.Linear{
		In: 4, Out: 2,
		Weight: []float32{
			1, 0.5, -1, 0.1,
			0, 0.2, 2, -0.1,
		},
	}
	scores := []float32{0.9, 0.1, 0.3, 0.1}
	heads := chanprune.WithGroups(2, chanprune.ReduceMean)

	l, err := chanprune.CompactByScores(layer, scores, 0.5, heads)
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := chanprune.NewEvaluator(layer, heads)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := e.Evaluate([][]float32{{1, 2, 3, 4}}, scores, 0.5)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("kept channels %v\n", l.Kept())
	fmt.Printf("pruned %d of %d heads, %d channels\n", m.NumPrunedGroups, layer.In/m.GroupSize, m.NumPruned)
	// Output:
	// kept channels [0 1]
	// pruned 1 of 2 heads, 2 channels
}
