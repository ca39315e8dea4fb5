package chanprune

// newLayerNormContribution is Model-Optimizer's LayerNormContributionHook
// applied to the tensors it is given, typically a LayerNorm's outputs,
// which are the next linear layer's inputs: Σ_batches mean_tokens |x_{t,c}|
// per channel, used to prune the embedding width. It is
// channel-contribution without the weight's column norms, so it is that
// scorer with norms of 1; the layer gives only In.
func newLayerNormContribution(layer Linear, _ EstimatorOptions) (scorer, error) {
	ones := make([]float64, layer.In)
	for c := range ones {
		ones[c] = 1
	}
	return &channelContribution{MeanAbs: make([]float64, layer.In), colNorm: ones}, nil
}
