package main

import (
	"errors"
	"fmt"

	"github.com/chanprune/chanprune"
)

// repairPruned fits the --compensate repair of layer with the channels
// that scores and ratio prune removed, on the --fit batches or, without
// them, on the BATCH arguments, and returns the repaired compact layer.
func repairPruned(layer chanprune.Linear, scores []float32, ratio float64, comp *compensation, mode chanprune.Compensation,
	files []string, stacked bool) (chanprune.RepairedLayer, error) {
	if len(files) == 0 && len(comp.fit) == 0 {
		return chanprune.RepairedLayer{}, fmt.Errorf("--compensate %s needs the batches to fit it on: BATCH arguments or --fit REF", mode)
	}
	e, err := chanprune.NewEvaluator(layer)
	if err != nil {
		return chanprune.RepairedLayer{}, err
	}
	fit, err := comp.fitSet(e, files, stacked, layer.In, noProgress{})
	if err != nil {
		return chanprune.RepairedLayer{}, err
	}
	warnFewFitTokens("prune", fit, []chanprune.Compensation{mode}, []float64{ratio}, layer.In, len(comp.fit) > 0)
	pruned, err := chanprune.PrunedChannels(scores, ratio)
	if err != nil {
		return chanprune.RepairedLayer{}, err
	}
	r, err := fit.Repair(layer, pruned, mode, comp.damp)
	if errors.Is(err, chanprune.ErrNotPositiveDefinite) {
		return r, fmt.Errorf("--compensate lstsq --damp %v: %w", comp.damp, err)
	}
	return r, err
}
