package chanprune_test

import (
	"fmt"

	"github.com/chanprune/chanprune"
)

// A layer with 4 input channels and 2 outputs, one batch of 2 tokens, and
// scores that rank channel 1 and then channel 3 as least important. By hand:
// y = (-0.1, 5.5; -1.45, 1.45), pruning removes d = (1.4, 0; 0.05, -0.05),
// so rmse = sqrt(1.965/4) and cos = 34.75/sqrt(34.465·37).
func Example() {
	layer := chanprune.Linear{
		In: 4, Out: 2,
		Weight: []float32{
			1, 0.5, -1, 0.1,
			0, 0.2, 2, -0.1,
		},
		Bias: []float32{0.5, -0.5},
	}
	batch := []float32{
		1, 2, 3, 4,
		-1, 0, 1, 0.5,
	}
	scores := []float32{0.9, 0.1, 0.8, 0.3}

	pruned, _ := chanprune.PrunedChannels(scores, 0.5)
	m, err := chanprune.Evaluate(layer, [][]float32{batch}, scores, 0.5)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("pruned channels %v\n", pruned)
	fmt.Printf("rmse %.4f, cosine %.4f\n", m.RMSE, m.CosineSimilarity)
	// Output:
	// pruned channels [1 3]
	// rmse 0.7009, cosine 0.9731
}
