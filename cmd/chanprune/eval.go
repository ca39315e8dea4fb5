package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/chanprune/chanprune"
)

func runEval(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	weight := fs.String("weight", "", "weight `W.npy`, [out, in]")
	bias := fs.String("bias", "", "bias `B.npy`, [out] (optional)")
	scoresPath := fs.String("scores", "", "importance scores `S.npy`, [in]; the lowest are pruned")
	ratioText := fs.String("ratio", "", "fraction `R` of input channels to prune, in [0, 1]")
	format := fs.String("format", "text", "output `format`: text or json")
	method := methodFlag(fs)
	comp := compensationFlags(fs, false, true)
	stacked := stackedFlag(fs)
	quiet := quietFlag(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("--format %q: want text or json", *format)
	}
	ratio, err := parseRatio(*ratioText)
	if err != nil {
		return fmt.Errorf("--ratio %w", err)
	}
	e, layer, err := newEvaluator(*weight, *bias, *method)
	if err != nil {
		return err
	}
	scores, err := loadScores(*scoresPath, *scoresPath, layer.In)
	if err != nil {
		return err
	}
	modes, err := comp.modes()
	if err != nil {
		return err
	}
	batches, err := openBatches(files, *stacked)
	if err != nil {
		return err
	}
	p := newProgress(progressOut, batches.Len()*comp.passes(modes, 1), "batches", !*quiet && *format != "json")
	defer p.Finish()
	points, err := comp.evaluate(e, []chanprune.ScoreSet{{Name: *scoresPath, Scores: scores}}, []float64{ratio}, modes, files, *stacked, layer.In, p, *weight)
	if err != nil {
		return err
	}
	p.Finish()
	warnUncertified(*weight, points)
	warnTies(*weight, points)
	m, names := points[0].Metrics, batchNames(batches)
	if *format == "json" {
		return writeJSON(stdout, m, names, layer, e.Kernel())
	}
	return writeText(stdout, m, names, layer, e.Kernel())
}

// warnUncertified prints one line on stderr if a forced Gram method kept
// results it could not certify within the conformance tolerances.
func warnUncertified(layer string, points []chanprune.Point) {
	n, total := 0, 0
	for _, p := range points {
		n += p.Uncertified
		total += len(p.PerBatch)
	}
	if n > 0 {
		fmt.Fprintf(progressOut, "chanprune: warning: %s: --method gram could not certify %d of %d (pair, batch) results within the conformance tolerances: the weight nearly annihilates the activations; --method auto redoes them directly\n", layer, n, total)
	}
}

// newEvaluator loads the layer and builds its Evaluator for a --method.
func newEvaluator(weight, bias, methodName string) (*chanprune.Evaluator, chanprune.Linear, error) {
	method, err := chanprune.ParseMethod(methodName)
	if err != nil {
		return nil, chanprune.Linear{}, fmt.Errorf("--method %q: want auto, direct or gram", methodName)
	}
	layer, err := loadLayer(weight, bias)
	if err != nil {
		return nil, layer, err
	}
	e, err := chanprune.NewEvaluator(layer, chanprune.WithMethod(method))
	if err != nil {
		return nil, layer, fmt.Errorf("--weight %s: %w", weight, err)
	}
	return e, layer, nil
}

// parseRatio reads one prune ratio; the caller names the argument.
func parseRatio(s string) (float64, error) {
	if s == "" {
		return 0, fmt.Errorf("is required")
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || !(r >= 0 && r <= 1) {
		return 0, fmt.Errorf("%q: want a number in [0, 1]", s)
	}
	return r + 0, nil // -0 + 0 is 0: no "-0" in any output
}

type batchJSON struct {
	File             string  `json:"file"`
	Tokens           int     `json:"tokens"`
	RMSE             float64 `json:"rmse"`
	CosineSimilarity float64 `json:"cosine_similarity"`
	Method           string  `json:"method"`
}

type evalJSON struct {
	RMSE             float64     `json:"rmse"`
	CosineSimilarity float64     `json:"cosine_similarity"`
	NumPruned        int         `json:"num_pruned"`
	Ratio            float64     `json:"ratio"`
	In               int         `json:"in"`
	Out              int         `json:"out"`
	Kernel           string      `json:"kernel"`
	Method           string      `json:"method"`      // methodName
	TiesAtCut        int         `json:"ties_at_cut"` // chanprune.Tie.Size
	PerBatch         []batchJSON `json:"per_batch"`
	repairJSON
}

func writeJSON(w io.Writer, m chanprune.Metrics, names []string, l chanprune.Linear, kernel string) error {
	out := evalJSON{m.RMSE, m.CosineSimilarity, m.NumPruned, m.Ratio, l.In, l.Out, kernel, methodName(m.Method), m.Tie.Size(), nil, newRepairJSON(m)}
	for i, b := range m.PerBatch {
		out.PerBatch = append(out.PerBatch, batchJSON{names[i], b.Tokens, b.RMSE, b.CosineSimilarity, methodName(b.Method)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeText(w io.Writer, m chanprune.Metrics, names []string, l chanprune.Linear, kernel string) error {
	tokens, worstRMSE, worstCos := 0, 0, 0
	for i, b := range m.PerBatch {
		tokens += b.Tokens
		if b.RMSE > m.PerBatch[worstRMSE].RMSE {
			worstRMSE = i
		}
		if b.CosineSimilarity < m.PerBatch[worstCos].CosineSimilarity {
			worstCos = i
		}
	}
	_, err := fmt.Fprintf(w, `layer             %d → %d, %s, %s
pruned            %d of %d input channels (ratio %v)
rmse              %.8g
cosine_similarity %.8g
worst rmse        %.6g in batch %s
worst cosine      %.6g in batch %s
kernel            %s
method            %s
`, l.In, l.Out, plural(len(names), "batch"), plural(tokens, "token"),
		m.NumPruned, l.In, m.Ratio, m.RMSE, m.CosineSimilarity,
		m.PerBatch[worstRMSE].RMSE, names[worstRMSE], m.PerBatch[worstCos].CosineSimilarity, names[worstCos], kernel, methodName(m.Method))
	if err == nil && m.Compensation != chanprune.CompensateNone {
		_, err = fmt.Fprintf(w, "compensation      %s\n", repairText(m))
	}
	return err
}
