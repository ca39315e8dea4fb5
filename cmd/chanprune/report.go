package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/atomicfile"
)

// runReport evaluates the layers a manifest lists (see manifestLayer), one
// Evaluator and Stream at a time, and summarises each (score set, ratio)
// pair across them.
func runReport(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	flags := declareReportFlags(fs)
	quiet := quietFlag(fs)
	shardArg := shardFlag(fs)
	groups := groupFlags(fs)
	comp := compensationFlags(fs, true, false)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("want one MANIFEST (.json, .yaml or .yml), got %d arguments", len(files))
	}
	part, err := shardOf(fs, *shardArg)
	if err != nil {
		return err
	}
	modes, err := comp.modes()
	if err != nil {
		return err
	}
	var outs atomicfile.Set
	defer outs.Abort()
	sink, err := flags.open(&outs)
	if err != nil {
		return err
	}
	if err := outs.Input("manifest", files[0]); err != nil {
		return err
	}
	manifest, sum, err := readManifest(files[0])
	if err != nil {
		return err
	}
	if err := groups.applyTo(manifest); err != nil {
		return err
	}
	if err := refuseManifestInputs(&outs, manifest); err != nil {
		return err
	}

	indices := part.indices(len(manifest))
	total := 0
	for _, i := range indices {
		l := manifest[i]
		total += l.count * comp.passes(modes, len(l.Scores)*len(l.Ratios))
	}
	p := newProgress(progressOut, total, "", !*quiet && sink.format != "json")
	defer p.Finish()
	results := []layerResult{}
	kernel := ""
	for _, i := range indices {
		l := manifest[i]
		p.Describe(l.Name)
		r, k, err := evaluateLayer(l, p, comp, modes)
		if err != nil {
			return fmt.Errorf("layer %q: %s", l.Name, strings.TrimPrefix(err.Error(), "--"))
		}
		results, kernel = append(results, r), k
		// One layer in memory at a time: collect this one's evaluator and
		// scratch before the next layer's are allocated.
		runtime.GC()
	}
	p.Finish()
	if part.set() {
		return deliverPart(&outs, sink, stdout, reportPart{part.String(), sum, layerNames(manifest), reportOptions(modes, comp.damp, groups), indices, results})
	}
	return sink.deliver(&outs, stdout, results, kernel)
}

// refuseManifestInputs refuses an output of outs that is a file the
// manifest's layers read.
func refuseManifestInputs(outs *atomicfile.Set, manifest []manifestLayer) error {
	var reads inputs
	for _, l := range manifest {
		where := fmt.Sprintf("layer %q ", l.Name)
		reads.add(where+"weight", l.Weight)
		reads.add(where+"bias", l.Bias)
		for _, s := range l.Scores {
			reads.add(where+"scores "+s.Name, s.Ref)
		}
		reads.add(where+"batch", l.Batches...)
	}
	return reads.refuse(outs)
}

type layerResult struct {
	Name    string      `json:"name"`
	In      int         `json:"in"`
	Out     int         `json:"out"`
	Batches int         `json:"batches"`
	Points  []pointJSON `json:"points"`
	// OutputRMS is the RMS of the layer's original output over its batches
	// (Metrics.OutputRMS of its first point; the points agree on it to
	// float32 rounding): rmse/output_rms compares layers.
	OutputRMS float64 `json:"output_rms"`
}

type statsJSON struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

type summaryJSON struct {
	Scores           string    `json:"scores"`
	Ratio            float64   `json:"ratio"`
	Compensation     string    `json:"compensation"`
	Layers           int       `json:"layers"`
	RMSE             statsJSON `json:"rmse"`
	CosineSimilarity statsJSON `json:"cosine_similarity"`
}

type reportJSON struct {
	Layers  []layerResult `json:"layers"`
	Summary []summaryJSON `json:"summary"`
}

// evaluateLayer evaluates one manifest layer with its own Evaluator and
// Stream, and returns its points and the kernel used.
func evaluateLayer(l manifestLayer, p progress, comp *compensation, modes []chanprune.Compensation) (layerResult, string, error) {
	e, layer, err := newEvaluator(l.Weight, l.Bias, l.Method, l.Groups.option)
	if err != nil {
		return layerResult{}, "", err
	}
	var sets []chanprune.ScoreSet
	for _, sr := range l.Scores {
		scores, err := l.Groups.loadScores(sr.Name+"="+sr.Ref, sr.Ref, layer.In)
		if err != nil {
			return layerResult{}, "", err
		}
		sets = append(sets, chanprune.ScoreSet{Name: sr.Name, Scores: scores})
	}
	batches, err := openBatches(l.Batches, l.Stacked)
	if err != nil {
		return layerResult{}, "", err
	}
	points, err := comp.evaluate(e, sets, l.Ratios, modes, l.Batches, l.Stacked, layer.In, p, l.Name)
	if err != nil {
		return layerResult{}, "", err
	}
	warnUncertified(l.Name, points)
	warnTies(l.Name, points)
	r := layerResult{Name: l.Name, In: layer.In, Out: layer.Out, Batches: batches.Len(), OutputRMS: points[0].OutputRMS}
	for _, pt := range points {
		r.Points = append(r.Points, newPointJSON(pt, e.Kernel()))
	}
	return r, e.Kernel(), nil
}

// summarize gives, for each (score set, ratio) pair in the order first
// met, the mean, population standard deviation, minimum and maximum of the
// rmse and of the cosine over the layers that evaluated it.
func summarize(results []layerResult) []summaryJSON {
	type key struct {
		scores string
		ratio  float64
		comp   string
	}
	var order []key
	rmse, cos := map[key][]float64{}, map[key][]float64{}
	for _, r := range results {
		for _, pt := range r.Points {
			k := key{pt.Scores, pt.Ratio, pt.Compensation}
			if _, ok := rmse[k]; !ok {
				order = append(order, k)
			}
			rmse[k] = append(rmse[k], pt.RMSE)
			cos[k] = append(cos[k], pt.CosineSimilarity)
		}
	}
	out := make([]summaryJSON, len(order))
	for i, k := range order {
		out[i] = summaryJSON{k.scores, k.ratio, k.comp, len(rmse[k]), stats(rmse[k]), stats(cos[k])}
	}
	return out
}

// warnUnevenGrids warns, in one line, when layers evaluated different
// (score set, ratio) grids, so that some summary points average fewer than
// all of the layers.
func warnUnevenGrids(summary []summaryJSON, layers int) {
	fewer := 0
	for _, s := range summary {
		if s.Layers < layers {
			fewer++
		}
	}
	if fewer > 0 {
		fmt.Fprintf(progressOut, "chanprune: warning: the layers' (score set, ratio) grids differ: %d of %d summary points average fewer than all %d layers (see each point's layers count; the plot rings them)\n",
			fewer, len(summary), layers)
	}
}

// reportPlot gives the summary's points to draw; title "" is the default,
// which names the layers and says "up to" when grids differ.
func reportPlot(title string, results []layerResult, summary []summaryJSON) plotSpec {
	pts := make([]plotPoint, len(summary))
	uneven := false
	for i, s := range summary {
		pts[i] = plotPoint{seriesName(s.Scores, s.Compensation), s.Ratio, s.RMSE, s.CosineSimilarity, s.Layers}
		uneven = uneven || s.Layers < len(results)
	}
	if title == "" {
		names := make([]string, len(results))
		for i, r := range results {
			names[i] = r.Name
		}
		over := "mean over "
		if uneven {
			over += "up to "
		}
		title = over + plural(len(results), "layer") + ": " + strings.Join(names, ", ")
	}
	return plotSpec{title, pts, len(results)}
}

func stats(x []float64) statsJSON {
	s := statsJSON{Min: math.Inf(1), Max: math.Inf(-1)}
	for _, v := range x {
		s.Mean += v
		s.Min, s.Max = min(s.Min, v), max(s.Max, v)
	}
	s.Mean /= float64(len(x))
	for _, v := range x {
		s.Std += (v - s.Mean) * (v - s.Mean)
	}
	s.Std = math.Sqrt(s.Std / float64(len(x)))
	return s
}

func writeReportText(w io.Writer, results []layerResult, summary []summaryJSON, kernel string) error {
	fmt.Fprintf(w, "%s, kernel %s\n\n", plural(len(results), "layer"), kernel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tin → out\tscores\tratio\tpruned\trmse\tcosine\tmethod\tcompensation\t")
	for _, r := range results {
		for _, p := range r.Points {
			fmt.Fprintf(tw, "%s\t%d → %d\t%s\t%g\t%d\t%.6g\t%.8f\t%s\t%s\t\n", r.Name, r.In, r.Out, p.Scores, p.Ratio, p.NumPruned, p.RMSE, p.CosineSimilarity, p.Method, p.Compensation)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nacross layers (mean, population std, min, max):\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scores\tratio\tcompensation\tlayers\trmse mean\tstd\tmin\tmax\tcosine mean\tstd\tmin\tmax\t")
	for _, s := range summary {
		fmt.Fprintf(tw, "%s\t%g\t%s\t%d\t%.6g\t%.3g\t%.6g\t%.6g\t%.8f\t%.3g\t%.8f\t%.8f\t\n", s.Scores, s.Ratio, s.Compensation, s.Layers,
			s.RMSE.Mean, s.RMSE.Std, s.RMSE.Min, s.RMSE.Max,
			s.CosineSimilarity.Mean, s.CosineSimilarity.Std, s.CosineSimilarity.Min, s.CosineSimilarity.Max)
	}
	return tw.Flush()
}

// writeReportCSV writes one table: a row per layer and pair (kind
// "layer"), then the summary's mean, std, min and max rows per pair, each
// with the number of layers that evaluated the pair, then a layer row's
// method, kernel, ties_at_cut, the layer's output_rms and the point's
// repair (compensation, damp, fit_tokens, fit; added last, so the columns
// before them keep their places).
func writeReportCSV(w io.Writer, results []layerResult, summary []summaryJSON) error {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	cw := csv.NewWriter(w)
	cw.Write(append([]string{"kind", "layer", "scores", "ratio", "num_pruned", "rmse", "cosine_similarity", "layers", "method", "kernel", "ties_at_cut", "output_rms"}, repairCSVHeader...))
	for _, r := range results {
		for _, p := range r.Points {
			cw.Write(append([]string{"layer", r.Name, p.Scores, g(p.Ratio), strconv.Itoa(p.NumPruned), g(p.RMSE), g(p.CosineSimilarity), "",
				p.Method, p.Kernel, strconv.Itoa(p.TiesAtCut), g(r.OutputRMS)}, p.repairJSON.csv()...))
		}
	}
	for _, s := range summary {
		for _, st := range []struct {
			kind      string
			rmse, cos float64
		}{
			{"mean", s.RMSE.Mean, s.CosineSimilarity.Mean},
			{"std", s.RMSE.Std, s.CosineSimilarity.Std},
			{"min", s.RMSE.Min, s.CosineSimilarity.Min},
			{"max", s.RMSE.Max, s.CosineSimilarity.Max},
		} {
			cw.Write([]string{st.kind, "", s.Scores, g(s.Ratio), "", g(st.rmse), g(st.cos), strconv.Itoa(s.Layers), "", "", "", "", s.Compensation, "", "", ""})
		}
	}
	cw.Flush()
	return cw.Error()
}
