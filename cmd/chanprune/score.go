package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/atomicfile"
	"github.com/chanprune/chanprune/internal/npy"
	"github.com/chanprune/chanprune/internal/osfile"
	"github.com/chanprune/chanprune/tensorfile"
)

func runScore(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	method := fs.String("method", "", "importance estimator `NAME`: "+strings.Join(chanprune.EstimatorNames(), ", "))
	weight := fs.String("weight", "", "weight `W.npy`, [out, in]")
	bias := fs.String("bias", "", "bias `B.npy`, [out] (optional)")
	calibration := fs.String("calibration", "", "iterative's token `scaling`: scale-by-magnitude or scale_by_magnitude (default none)")
	iterations := fs.Int("iterations", 0, "iterative's number of batches `N` over the whole run (default: the batches given)")
	seed := fs.Uint64("seed", 0, "seed `S` of random's generator")
	damp := fs.Float64("damp", 0, "obs's ridge damping `D` (default 0.01)")
	layout := fs.String("layout", chanprune.LayoutSeqFirst, "the batches' leading axes: `ORDER` seq-first ([seq, batch, in], Megatron's) or batch-first ([batch, seq, in], a Hugging Face hook's); only l2norm depends on it")
	heads := fs.Int("heads", 0, "kv-head-contribution's query heads `Q` (head_dim = in/Q)")
	kvHeads := fs.Int("kv-heads", 0, "kv-head-contribution's KV heads `KV`: one score per KV group of in/KV channels")
	out := fs.String("out", "", "write the scores, float32 [in] ([KV] for kv-head-contribution), to `S.npy`")
	statePath := fs.String("state", "", "save the estimator's state to `FILE` after the batches, to resume from")
	resume := fs.String("resume", "", "continue from the state in `FILE`, with its method and options")
	stacked := stackedFlag(fs)
	quiet := quietFlag(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	set := givenFlags(fs)
	if err := checkIterativeFlags(set, *method, *calibration); err != nil {
		return err
	}
	if err := checkHeadFlags(set, *method, *resume != ""); err != nil {
		return err
	}
	if !slices.Contains(chanprune.Layouts(), *layout) {
		return fmt.Errorf("--layout %q: want %s", *layout, strings.Join(chanprune.Layouts(), " or "))
	}
	if *out == "" && *statePath == "" {
		return fmt.Errorf("--out S.npy is required (or --state FILE)")
	}
	var outs atomicfile.Set
	defer outs.Abort()
	scoresOut, err := addTensorOutput(&outs, "--out", *out, ".npy")
	if err != nil {
		return err
	}
	// --state may name the --resume file, read whole before anything is
	// written: it is declared once that one is checked.
	if err := outs.Input("--resume", *resume); err != nil {
		return err
	}
	stateOut, err := addOutput(&outs, "--state", *statePath)
	if err != nil {
		return err
	}
	var reads inputs
	reads.add("--weight", *weight)
	reads.add("--bias", *bias)
	reads.add("batch", files...)
	if err := reads.refuse(&outs); err != nil {
		return err
	}
	layer, err := loadLayer(*weight, *bias)
	if err != nil {
		return err
	}
	var batches *tensorfile.Batches // nil without BATCH arguments
	n := 0
	if len(files) > 0 {
		if batches, err = openBatches(files, *stacked); err != nil {
			return err
		}
		n = batches.Len()
	}

	var e chanprune.Estimator
	if *resume != "" {
		for _, name := range []string{"calibration", "iterations", "seed", "damp", "heads", "kv-heads"} {
			if set[name] {
				return fmt.Errorf("--%s: the options come from the state of --resume %s", name, *resume)
			}
		}
		if e, err = loadEstimator(*resume, layer); err != nil {
			return err
		}
		if set["method"] && *method != e.Name() {
			return fmt.Errorf("--method %s: --resume %s holds the state of %s", *method, *resume, e.Name())
		}
		// The layout describes the batch files, so it is given again, and
		// must be the one the earlier batches were read in.
		if saved := e.Options().Layout; saved != *layout {
			return fmt.Errorf("--layout %s: --resume %s read its batches %s: give --layout %s", *layout, *resume, saved, saved)
		}
	} else {
		if *method == "" {
			return fmt.Errorf("--method is required: one of %s", strings.Join(chanprune.EstimatorNames(), ", "))
		}
		opts := chanprune.EstimatorOptions{Calibration: *calibration, Iterations: *iterations, Seed: *seed, Layout: *layout,
			Heads: *heads, KVHeads: *kvHeads, Damp: *damp}
		if *method == "iterative" && !set["iterations"] {
			if n == 0 {
				return fmt.Errorf("no activation batches given (BATCH arguments)")
			}
			opts.Iterations = n
		}
		if e, err = chanprune.NewEstimator(*method, layer, opts); err != nil {
			return fmt.Errorf("--method %s: %w", *method, err)
		}
	}

	if batches != nil { // magnitude and random need none
		p := newProgress(progressOut, n, "batches", !*quiet)
		defer p.Finish()
		err := readBatches(batches, func(x *tensorfile.Array) error {
			p.Add(1)
			return e.Observe(x.Data, x.Shape)
		})
		p.Finish()
		if err != nil {
			return err
		}
	}
	var scores []float32
	if *out != "" {
		if scores, err = e.Scores(); err != nil {
			if errors.Is(err, chanprune.ErrEmpty) {
				return fmt.Errorf("no activation batches given (BATCH arguments): %w", err)
			}
			return err
		}
	}
	if stateOut != nil {
		if err := stateOut.Write(e.Save); err != nil {
			return err
		}
	}
	if scoresOut != nil {
		shape := []int{len(scores)}
		if err := scoresOut.Write(func(w io.Writer) error { return npy.Write(w, shape, scores) }); err != nil {
			return err
		}
	}
	if err := outs.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s over %s, layer %d → %d\n", e.Name(), plural(n, "batch"), layer.In, layer.Out)
	if *statePath != "" {
		fmt.Fprintf(stdout, "state  %s\n", *statePath)
	}
	if *out != "" {
		fmt.Fprintf(stdout, "scores %s\n", *out)
	}
	return nil
}

// calibrations are the values --calibration takes, ours and Model-Optimizer's
// spelling; leaving the flag out means none.
var calibrations = []string{"scale-by-magnitude", "scale_by_magnitude"}

// checkIterativeFlags refuses, before any work, a --calibration value
// iterative does not take and iterative's flags given to another method,
// in the CLI's terms rather than the library's field names.
func checkIterativeFlags(set map[string]bool, method, calibration string) error {
	if calibration != "" && !slices.Contains(calibrations, calibration) {
		return fmt.Errorf("--calibration %q: want %s, or leave it out for none", calibration, strings.Join(calibrations, " or "))
	}
	if set["method"] && method != "iterative" {
		for _, name := range []string{"calibration", "iterations"} {
			if set[name] {
				return fmt.Errorf("--%s: only --method iterative takes it, not %s", name, method)
			}
		}
	}
	return nil
}

// loadEstimator restores the estimator state in path for layer.
func loadEstimator(path string, layer chanprune.Linear) (chanprune.Estimator, error) {
	f, _, err := osfile.OpenRegular(path)
	if err != nil {
		return nil, argError("--resume", path, err)
	}
	defer f.Close()
	e, err := chanprune.LoadEstimator(f, layer)
	if err != nil {
		return nil, argError("--resume", path, err)
	}
	return e, nil
}
