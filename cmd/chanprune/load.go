package main

import (
	"errors"
	"flag"
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

// loadScores reads one score per input channel; arg is the --scores
// argument that named the file, for messages.
func loadScores(arg, path string, in int) ([]float32, error) {
	if path == "" {
		return nil, fmt.Errorf("--scores is required")
	}
	s, err := npy.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--scores %s: %w", arg, err)
	}
	if len(s.Shape) != 1 || s.Shape[0] != in {
		return nil, fmt.Errorf("--scores %s: shape %v, want [%d], one score per input channel", arg, s.Shape, in)
	}
	return s.Data, nil
}

// readBatches reads the batch files one at a time into one reused buffer,
// so memory holds one batch whatever their number, and hands each to use;
// errors name the file.
func readBatches(files []string, use func(x *npy.Array) error) error {
	if len(files) == 0 {
		return fmt.Errorf("no activation batches given (BATCH.npy arguments)")
	}
	var buf []float32
	for _, path := range files {
		x, err := npy.ReadFileInto(path, buf)
		if err == nil {
			err = use(x)
		}
		if err != nil {
			var be *chanprune.BatchError
			if errors.As(err, &be) {
				err = be.Err
			}
			return fmt.Errorf("batch %s: %w", path, err)
		}
		buf = x.Data
	}
	return nil
}

// observeFiles feeds each batch file, [..., in] with at least one row, to
// the stream.
func observeFiles(s *chanprune.Stream, files []string, in int) error {
	return readBatches(files, func(x *npy.Array) error {
		if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != in {
			return fmt.Errorf("shape %v does not end in the layer's %d input channels", x.Shape, in)
		}
		if len(x.Data) == 0 {
			return fmt.Errorf("shape %v has no rows", x.Shape)
		}
		return s.Observe(x.Data)
	})
}

// methodFlag registers --method on fs.
func methodFlag(fs *flag.FlagSet) *string {
	return fs.String("method", "auto", "`method`: auto, direct (one product per evaluation) or gram (G = xᵀx per batch, shared by all evaluations)")
}
