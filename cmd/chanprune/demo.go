package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/seed"
)

// runDemo scores the seed example's channels with every estimator,
// streaming over its batches, and evaluates all the score sets at one
// ratio with one Sweep.
func runDemo(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	batches := fs.Int("batches", 100, "`N` activation batches of [16, 8, 1024] to build")
	ratioText := fs.String("ratio", "0.2", "fraction `R` of input channels to prune, in [0, 1]")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if *batches < 1 || *batches > 10000 {
		return fmt.Errorf("--batches %d: want 1 to 10000", *batches)
	}
	ratio, err := parseRatio(*ratioText)
	if err != nil {
		return fmt.Errorf("--ratio %w", err)
	}
	start := time.Now()
	ex := seed.Varied(1024, 4096, *batches, 16*8, 1)
	layer := chanprune.Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
	shape := []int{16, 8, ex.In}
	fmt.Fprintf(stdout, "seed example: nn.Linear %d → %d, %s of %v channels of log-normal scales and normal means, weight columns of log-normal scales, built in %v\n\n",
		ex.In, ex.Out, plural(*batches, "batch"), shape, time.Since(start).Round(time.Millisecond))

	var sets []chanprune.ScoreSet
	var scoring []time.Duration
	for _, name := range chanprune.EstimatorNames() {
		if name == kvHeadMethod {
			continue // it scores attention heads; the example is an MLP layer
		}
		t := time.Now()
		scores, err := estimate(name, layer, ex.Batches, shape)
		if err != nil {
			return err
		}
		sets = append(sets, chanprune.ScoreSet{Name: name, Scores: scores})
		scoring = append(scoring, time.Since(t))
	}

	e, err := chanprune.NewEvaluator(layer)
	if err != nil {
		return err
	}
	t := time.Now()
	points, err := e.Sweep(ex.Batches, sets, []float64{ratio})
	if err != nil {
		return err
	}
	evaluation := time.Since(t)
	t = time.Now()
	repaired, err := e.SweepRepaired(ex.Batches, sets, []float64{ratio}, chanprune.Repair{Mode: chanprune.CompensateLstsq, Damp: chanprune.DefaultDamp})
	if err != nil {
		return err
	}
	repair := time.Since(t)

	fmt.Fprintf(stdout, "%-22s %8s %12s %12s %12s %12s\n", "estimator", "pruned", "rmse", "cosine", "rmse lstsq", "scoring")
	for i, p := range points {
		fmt.Fprintf(stdout, "%-22s %8d %12.6g %12.8f %12.6g %12v\n", p.Set, p.NumPruned, p.RMSE, p.CosineSimilarity,
			repaired[i].RMSE, scoring[i].Round(time.Millisecond))
	}
	fmt.Fprintf(stdout, "\nevaluated %d score sets at ratio %v in %v with one Sweep, kernel %s; total %v.\n",
		len(sets), ratio, evaluation.Round(time.Millisecond), e.Kernel(), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "rmse lstsq: the layer repaired by --compensate lstsq after pruning, fitted on the same batches (%v; on other batches it can be worse: see --fit).\n",
		repair.Round(time.Millisecond))
	fmt.Fprintln(stdout, "Lower rmse and higher cosine mean the scores found channels that matter less.")
	return nil
}

// estimate runs the estimator name over the batches, each of the given
// shape, and returns its scores.
func estimate(name string, layer chanprune.Linear, batches [][]float32, shape []int) ([]float32, error) {
	var opts chanprune.EstimatorOptions
	switch name {
	case "iterative":
		opts.Iterations = len(batches)
	case "random":
		opts.Seed = 1
	}
	e, err := chanprune.NewEstimator(name, layer, opts)
	if err != nil {
		return nil, err
	}
	for _, x := range batches {
		if err := e.Observe(x, shape); err != nil {
			return nil, err
		}
	}
	return e.Scores()
}
