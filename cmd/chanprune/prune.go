package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

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
	outWeight := fs.String("out-weight", "", "where to write the compacted weight `WK.npy`, [out, kept] float32 (with --out-keep)")
	outKeep := fs.String("out-keep", "", "where to write the kept channels `KEEP.npy`, [kept] int64, ascending (with --out-weight)")
	outFile := fs.String("out", "", "where to write the pruned layer as one `F.safetensors`: weight [out, kept] in the weight's dtype "+
		"(bfloat16, float16) or float32, bias [out] if any, keep [kept] int64 ascending, metadata in_features = in "+
		"(chanprune.LoadLayer reads it); with --couple the MLP block: down.weight, down.bias, up.weight, up.bias, gate.weight, gate.bias, keep")
	couple := fs.String("couple", "", "`UP[,GATE]`: the layers [in, hidden] whose outputs are --weight's input channels (an MLP block's "+
		"up and gate projections); --out gets their kept rows as up.weight and gate.weight")
	coupleBias := fs.String("couple-bias", "", "`UB[,GB]`: the biases [in] of the --couple layers, in their order; --out gets their kept entries as up.bias and gate.bias")
	groups := groupFlags(fs)
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
	if len(files) > 0 && len(comp.fit) > 0 {
		return fmt.Errorf("unexpected argument %q: with --fit, prune fits the repair on --fit's batches and reads no others", files[0])
	}
	if *outBias != "" && mode == chanprune.CompensateNone {
		return fmt.Errorf("--out-bias goes with --compensate bias or lstsq, which change the bias")
	}
	if *outBias == "" && *outFile == "" && mode != chanprune.CompensateNone {
		return fmt.Errorf("--compensate %s changes the bias: --out-bias B.npy (or --out F.safetensors, which holds it) is required", mode)
	}
	switch {
	case *outFile == "" && *outWeight == "" && *outKeep == "":
		return fmt.Errorf("--out, or --out-weight and --out-keep, are required")
	case (*outWeight == "") != (*outKeep == ""):
		return fmt.Errorf("--out-weight and --out-keep go together")
	case *couple != "" && *outFile == "":
		return fmt.Errorf("--couple needs --out, the .safetensors file the MLP block is written to")
	}
	feederRefs, feederBiasRefs, err := coupleRefs(*couple, *coupleBias)
	if err != nil {
		return err
	}
	var outs atomicfile.Set
	defer outs.Abort()
	weightOut, err := addTensorOutput(&outs, "--out-weight", *outWeight, ".npy")
	if err != nil {
		return err
	}
	keepOut, err := addTensorOutput(&outs, "--out-keep", *outKeep, ".npy")
	if err != nil {
		return err
	}
	fileOut, err := addTensorOutput(&outs, "--out", *outFile, ".safetensors")
	if err != nil {
		return err
	}
	biasOut, err := addTensorOutput(&outs, "--out-bias", *outBias, ".npy")
	if err != nil {
		return err
	}
	var reads inputs
	reads.add("--weight", *weight)
	reads.add("--bias", *bias)
	reads.add("--scores", *scoresPath)
	reads.add("--couple", feederRefs...)
	reads.add("--couple-bias", feederBiasRefs...)
	reads.add("batch", files...)
	reads.add("--fit", comp.fit...)
	if err := reads.refuse(&outs); err != nil {
		return err
	}
	ratio, err := parseRatio(*ratioText)
	if err != nil {
		return fmt.Errorf("--ratio %w", err)
	}
	w, b, err := loadLayerArrays(*weight, *bias)
	if err != nil {
		return err
	}
	layer := linearOf(w, b)
	feeders, err := loadFeeders(feederRefs, feederBiasRefs, layer.In)
	if err != nil {
		return err
	}
	grouped, err := groups.option(layer)
	if err != nil {
		return err
	}
	scores, err := groups.loadScores(*scoresPath, *scoresPath, layer.In)
	if err != nil {
		return err
	}
	pruned, err := chanprune.CompactByScores(layer, scores, ratio, grouped)
	if err != nil {
		return fmt.Errorf("--scores %s: %w", *scoresPath, err)
	}
	warnTie(*weight, *scoresPath, ratio, pruned.Tie())
	keep := pruned.Kept()
	p := prunedFile{keep: keep, weight: pruned.Weight(), in: layer.In, out: layer.Out, dtype: w.Dtype, feeders: feeders}
	if b != nil {
		p.bias, p.biasDt = b.Data, b.Dtype
	}
	if mode != chanprune.CompensateNone {
		r, err := repairPruned(layer, prunedOf(keep, layer.In), ratio, comp, mode, files, *stacked)
		if err != nil {
			return err
		}
		p.weight, p.bias = r.Weight, r.Bias
	}
	var wrote []string
	if weightOut != nil {
		shape := []int{layer.Out, len(keep)}
		if err := weightOut.Write(func(w io.Writer) error { return npy.Write(w, shape, p.weight) }); err != nil {
			return err
		}
		if err := keepOut.Write(func(w io.Writer) error { return npy.WriteIndex(w, keep) }); err != nil {
			return err
		}
		wrote = append(wrote, fmt.Sprintf("%s %s, %s [%d]", *outWeight, shapeText(shape), *outKeep, len(keep)))
	}
	if biasOut != nil {
		if err := biasOut.Write(func(w io.Writer) error { return npy.Write(w, []int{layer.Out}, p.bias) }); err != nil {
			return err
		}
		wrote = append(wrote, fmt.Sprintf("%s [%d] (repaired by %s)", *outBias, layer.Out, mode))
	}
	if fileOut != nil {
		ts := p.tensors()
		if err := fileOut.Write(func(w io.Writer) error { return p.write(w, ts) }); err != nil {
			return err
		}
		wrote = append(wrote, fmt.Sprintf("%s (%s)", *outFile, describeTensors(ts)))
	}
	if err := outs.Commit(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "kept %d of %d input channels (pruned %d at ratio %v%s): %s\n",
		len(keep), layer.In, layer.In-len(keep), ratio, groupsPruned((layer.In-len(keep))/groups.size, groups.size), strings.Join(wrote, ", "))
	return err
}
