package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/seed"
)

func runDemo(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	batches := fs.Int("batches", 100, "activation batches of [16, 8, 1024] to build")
	ratio := fs.Float64("ratio", 0.2, "fraction of input channels to prune")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *batches < 1 || *batches > 10000 {
		return fmt.Errorf("--batches %d: want 1 to 10000", *batches)
	}
	start := time.Now()
	ex := seed.New(1024, 4096, *batches, 16*8, 1)
	layer := chanprune.Linear{Weight: ex.Weight, Bias: ex.Bias, In: ex.In, Out: ex.Out}
	e, err := chanprune.NewEvaluator(layer)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seed example: nn.Linear %d → %d, %d batches of [16, 8, %d] with log-normal channel scales\n",
		ex.In, ex.Out, *batches, ex.In)
	fmt.Fprintf(stdout, "kernel %s, built in %v\n\n", e.Kernel(), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "%-16s %8s %12s %12s %10s %10s\n", "scores", "pruned", "rmse", "cosine", "time", "GFLOP/s")
	sources := []struct {
		name   string
		scores []float32
	}{
		{"random", ex.RandomScores(1)},
		{"activation-l2", ex.ActivationNorms()},
	}
	for _, s := range sources {
		t := time.Now()
		m, err := e.Evaluate(ex.Batches, s.scores, *ratio)
		if err != nil {
			return err
		}
		el := time.Since(t)
		fmt.Fprintf(stdout, "%-16s %8d %12.6g %12.8f %10v %10.1f\n", s.name, m.NumPruned, m.RMSE, m.CosineSimilarity,
			el.Round(time.Millisecond), ex.FLOPs()/el.Seconds()/1e9)
	}
	fmt.Fprintf(stdout, "\ntotal %v. Lower rmse and higher cosine mean the scores found channels that matter less.\n",
		time.Since(start).Round(time.Millisecond))
	return nil
}
