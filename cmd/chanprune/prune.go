package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/atomicfile"
	"github.com/chanprune/chanprune/internal/npy"
)

func runPrune(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	weight := fs.String("weight", "", "weight `W.npy`, [out, in]")
	bias := fs.String("bias", "", "bias `B.npy`, [out] (optional; pruning input channels leaves it as it is)")
	scoresPath := fs.String("scores", "", "importance scores `S.npy`, [in]; the lowest are pruned")
	ratioText := fs.String("ratio", "", "fraction `R` of input channels to prune, in [0, 1]")
	outWeight := fs.String("out-weight", "", "where to write the compacted weight `WK.npy`, [out, kept] float32")
	outKeep := fs.String("out-keep", "", "where to write the kept channels `KEEP.npy`, [kept] int64, ascending")
	comp := compensationFlags(fs, false, true)
	outBias := fs.String("out-bias", "", "with --compensate, where to write the repaired bias `B.npy`, [out] float32")
	stacked := stackedFlag(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	modes, err := comp.modes()
	if err != nil {
		return err
	}
	mode := modes[0]
	if len(files) > 0 && mode == chanprune.CompensateNone {
		return fmt.Errorf("unexpected argument %q: prune reads no batches without --compensate", files[0])
	}
	if *outBias == "" && mode != chanprune.CompensateNone {
		return fmt.Errorf("--compensate %s changes the bias: --out-bias B.npy is required", mode)
	} else if *outBias != "" && mode == chanprune.CompensateNone {
		return fmt.Errorf("--out-bias goes with --compensate bias or lstsq, which change the bias")
	}
	if *outWeight == "" || *outKeep == "" {
		return fmt.Errorf("--out-weight and --out-keep are required")
	}
	var outs atomicfile.Set
	defer outs.Abort()
	weightOut, err := outs.Add("--out-weight", *outWeight)
	if err != nil {
		return err
	}
	keepOut, err := outs.Add("--out-keep", *outKeep)
	if err != nil {
		return err
	}
	biasOut, err := addOutput(&outs, "--out-bias", *outBias)
	if err != nil {
		return err
	}
	var reads inputs
	reads.add("--weight", *weight)
	reads.add("--bias", *bias)
	reads.add("--scores", *scoresPath)
	reads.add("batch", files...)
	reads.add("--fit", comp.fit...)
	if err := reads.refuse(&outs); err != nil {
		return err
	}
	ratio, err := parseRatio(*ratioText)
	if err != nil {
		return fmt.Errorf("--ratio %w", err)
	}
	layer, err := loadLayer(*weight, *bias)
	if err != nil {
		return err
	}
	scores, err := loadScores(*scoresPath, *scoresPath, layer.In)
	if err != nil {
		return err
	}
	pruned, err := chanprune.CompactByScores(layer, scores, ratio)
	if err != nil {
		return fmt.Errorf("--scores %s: %w", *scoresPath, err)
	}
	tie, err := chanprune.TiesAtCut(scores, ratio)
	if err != nil {
		return fmt.Errorf("--scores %s: %w", *scoresPath, err)
	}
	warnTie(*weight, *scoresPath, ratio, tie)
	keep, kept := pruned.Kept(), pruned.Weight()
	if mode != chanprune.CompensateNone {
		r, err := repairPruned(layer, scores, ratio, comp, mode, files, *stacked)
		if err != nil {
			return err
		}
		kept = r.Weight
		if err := biasOut.Write(func(w io.Writer) error { return npy.Write(w, []int{layer.Out}, r.Bias) }); err != nil {
			return err
		}
	}
	shape := []int{layer.Out, len(keep)}
	if err := weightOut.Write(func(w io.Writer) error { return npy.Write(w, shape, kept) }); err != nil {
		return err
	}
	if err := keepOut.Write(func(w io.Writer) error { return npy.WriteIndex(w, keep) }); err != nil {
		return err
	}
	if err := outs.Commit(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "kept %d of %d input channels (pruned %d at ratio %v): %s [%d, %d], %s [%d]\n",
		len(keep), layer.In, layer.In-len(keep), ratio, *outWeight, layer.Out, len(keep), *outKeep, len(keep))
	if err == nil && mode != chanprune.CompensateNone {
		_, err = fmt.Fprintf(stdout, "repaired by %s: %s [%d]\n", mode, *outBias, layer.Out)
	}
	return err
}
