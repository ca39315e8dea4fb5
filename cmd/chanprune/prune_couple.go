package main

import (
	"fmt"
	"strings"

	"github.com/chanprune/chanprune/internal/clip"
	"github.com/chanprune/chanprune/tensorfile"
)

// A feeder is a layer whose outputs are the pruned layer's input channels,
// as an MLP block's up (and gate) projection feeds its down projection:
// pruning a channel removes the feeder's row that computes it.
type feeder struct {
	name string            // in --out: NAME.weight, NAME.bias
	w    *tensorfile.Array // [in, hidden]
	b    *tensorfile.Array // [in], or nil
}

// feederNames name the --couple layers in --out, in their order.
var feederNames = []string{"up", "gate"}

// coupleRefs splits --couple and --couple-bias, checking their counts.
func coupleRefs(couple, coupleBias string) (refs, biasRefs []string, err error) {
	if couple == "" {
		if coupleBias != "" {
			return nil, nil, fmt.Errorf("--couple-bias needs --couple, the layers whose biases it gives")
		}
		return nil, nil, nil
	}
	refs = strings.Split(couple, ",")
	if len(refs) > len(feederNames) || !nonEmpty(refs) {
		return nil, nil, fmt.Errorf("--couple %s: want UP or UP,GATE", clip.Value(couple))
	}
	if coupleBias == "" {
		return refs, nil, nil
	}
	biasRefs = strings.Split(coupleBias, ",")
	if len(biasRefs) != len(refs) || !nonEmpty(biasRefs) {
		return nil, nil, fmt.Errorf("--couple-bias %s: want one bias for each of the %d --couple layers, in their order", clip.Value(coupleBias), len(refs))
	}
	return refs, biasRefs, nil
}

// nonEmpty reports whether no element of refs is empty.
func nonEmpty(refs []string) bool {
	for _, r := range refs {
		if r == "" {
			return false
		}
	}
	return true
}

// loadFeeders reads the --couple layers, [in, hidden] each with the same
// hidden width, and their biases.
func loadFeeders(refs, biasRefs []string, in int) ([]feeder, error) {
	var feeders []feeder
	for i, ref := range refs {
		w, err := readMatrix("--couple", ref, "[in, hidden] with in, hidden > 0")
		if err != nil {
			return nil, err
		}
		if w.Shape[0] != in || i > 0 && w.Shape[1] != feeders[0].w.Shape[1] {
			return nil, fmt.Errorf("--couple %s: shape %v, want [%d, hidden]: one row for each input channel of --weight, the same hidden width for each --couple layer",
				clip.Value(ref), w.Shape, in)
		}
		f := feeder{name: feederNames[i], w: w}
		if biasRefs != nil {
			if f.b, err = readVector("--couple-bias", biasRefs[i], w); err != nil {
				return nil, err
			}
		}
		feeders = append(feeders, f)
	}
	return feeders, nil
}

// keptRows returns the rows keep lists of data, rows of width values.
func keptRows(data []float32, width int, keep []int) []float32 {
	rows := make([]float32, 0, len(keep)*width)
	for _, c := range keep {
		rows = append(rows, data[c*width:(c+1)*width]...)
	}
	return rows
}
