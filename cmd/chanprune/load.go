package main

import (
	"fmt"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/npy"
)

// loadLayer reads the weight [out, in] and the optional bias [out].
func loadLayer(weightPath, biasPath string) (chanprune.Linear, error) {
	if weightPath == "" {
		return chanprune.Linear{}, fmt.Errorf("--weight is required")
	}
	w, err := npy.ReadFile(weightPath)
	if err != nil {
		return chanprune.Linear{}, fmt.Errorf("--weight %s: %w", weightPath, err)
	}
	if len(w.Shape) != 2 || w.Shape[0] == 0 || w.Shape[1] == 0 {
		return chanprune.Linear{}, fmt.Errorf("--weight %s: shape %v is not [out, in] with out, in > 0", weightPath, w.Shape)
	}
	layer := chanprune.Linear{Weight: w.Data, Out: w.Shape[0], In: w.Shape[1]}
	if biasPath == "" {
		return layer, nil
	}
	b, err := npy.ReadFile(biasPath)
	if err != nil {
		return layer, fmt.Errorf("--bias %s: %w", biasPath, err)
	}
	if len(b.Shape) != 1 || b.Shape[0] != layer.Out {
		return layer, fmt.Errorf("--bias %s: shape %v, want [%d] for a weight of shape %v", biasPath, b.Shape, layer.Out, w.Shape)
	}
	layer.Bias = b.Data
	return layer, nil
}

// loadScores reads one score per input channel.
func loadScores(path string, in int) ([]float32, error) {
	if path == "" {
		return nil, fmt.Errorf("--scores is required")
	}
	s, err := npy.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--scores %s: %w", path, err)
	}
	if len(s.Shape) != 1 || s.Shape[0] != in {
		return nil, fmt.Errorf("--scores %s: shape %v, want [%d], one score per input channel", path, s.Shape, in)
	}
	return s.Data, nil
}

// loadBatch reads one activation batch [..., in] with at least one row.
func loadBatch(path string, in int) ([]float32, error) {
	x, err := npy.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("batch %s: %w", path, err)
	}
	if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != in {
		return nil, fmt.Errorf("batch %s: shape %v does not end in the layer's %d input channels", path, x.Shape, in)
	}
	if len(x.Data) == 0 {
		return nil, fmt.Errorf("batch %s: shape %v has no rows", path, x.Shape)
	}
	return x.Data, nil
}
