package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/atomicfile"
)

// scoreFlags collects repeated --scores NAME=FILE.
type scoreFlags []struct{ name, path string }

func (s *scoreFlags) String() string { return fmt.Sprint(*s) }

func (s *scoreFlags) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want NAME=FILE, got %q", v)
	}
	for _, have := range *s {
		if have.name == name {
			return fmt.Errorf("score set %q given twice", name)
		}
	}
	*s = append(*s, struct{ name, path string }{name, path})
	return nil
}

func runSweep(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	weight := fs.String("weight", "", "weight `W.npy`, [out, in]")
	bias := fs.String("bias", "", "bias `B.npy`, [out] (optional)")
	var scoreFiles scoreFlags
	fs.Var(&scoreFiles, "scores", "a score set `NAME=FILE[#KEY]` ([in] scores); repeat for more")
	ratiosText := fs.String("ratios", "", "comma-separated prune `ratios`, each in [0, 1], none twice")
	format := fs.String("format", "text", "output `format`: text, json or csv")
	method := methodFlag(fs)
	comp := compensationFlags(fs, true, true)
	plotPath := fs.String("plot", "", "draw rmse and cosine against the ratio to `FILE.svg` or FILE.png")
	title := titleFlag(fs)
	quiet := quietFlag(fs)
	stacked := stackedFlag(fs)
	groups := groupFlags(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *format != "text" && *format != "json" && *format != "csv" {
		return fmt.Errorf("--format %q: want text, json or csv", *format)
	}
	var outs atomicfile.Set
	defer outs.Abort()
	plotOut, err := addPlot(&outs, *plotPath)
	if err != nil {
		return err
	}
	var reads inputs
	reads.add("--weight", *weight)
	reads.add("--bias", *bias)
	for _, sf := range scoreFiles {
		reads.add("--scores "+sf.name, sf.path)
	}
	reads.add("batch", files...)
	reads.add("--fit", comp.fit...)
	if err := reads.refuse(&outs); err != nil {
		return err
	}
	ratios, err := parseRatios(*ratiosText)
	if err != nil {
		return err
	}
	if len(scoreFiles) == 0 {
		return fmt.Errorf("--scores NAME=FILE is required, once per score set")
	}
	e, layer, err := newEvaluator(*weight, *bias, *method, groups.option)
	if err != nil {
		return err
	}
	var sets []chanprune.ScoreSet
	for _, sf := range scoreFiles {
		scores, err := groups.loadScores(sf.name+"="+sf.path, sf.path, layer.In)
		if err != nil {
			return err
		}
		sets = append(sets, chanprune.ScoreSet{Name: sf.name, Scores: scores})
	}
	modes, err := comp.modes()
	if err != nil {
		return err
	}
	batches, err := openBatches(files, *stacked)
	if err != nil {
		return err
	}
	p := newProgress(progressOut, batches.Len()*comp.passes(modes, len(sets)*len(ratios)), "batches", !*quiet && *format != "json")
	defer p.Finish()
	points, err := comp.evaluate(e, sets, ratios, modes, files, *stacked, layer.In, p, *weight)
	if err != nil {
		return err
	}
	p.Finish()
	warnUncertified(*weight, points)
	warnTies(*weight, points)
	results := func() error {
		switch *format {
		case "json":
			return writeSweepJSON(stdout, points, e.Kernel())
		case "csv":
			return writeSweepCSV(stdout, points, e.Kernel())
		}
		return writeSweepText(stdout, points, layer, batches.Len(), e.Kernel())
	}
	return deliver(&outs, results, plotOut, func() plotSpec {
		if *title == "" {
			*title = fmt.Sprintf("%s (%d → %d), %s", *weight, layer.In, layer.Out, plural(batches.Len(), "batch"))
		}
		return plotSpec{*title, sweepPlotPoints(points), 0}
	})
}

func parseRatios(s string) ([]float64, error) {
	if s == "" {
		return nil, fmt.Errorf("--ratios is required, e.g. --ratios 0.1,0.2,0.5")
	}
	fields := strings.Split(s, ",")
	ratios := make([]float64, len(fields))
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("--ratios %q: ratio %d of %d is empty", s, i+1, len(fields))
		}
		r, err := parseRatio(f)
		if err != nil {
			return nil, fmt.Errorf("--ratios %q: ratio %d of %d: %w", s, i+1, len(fields), err)
		}
		if slices.Contains(ratios[:i], r) {
			return nil, fmt.Errorf("--ratios %q: %g given twice", s, r)
		}
		ratios[i] = r
	}
	return ratios, nil
}

type pointJSON struct {
	Scores           string  `json:"scores"`
	Ratio            float64 `json:"ratio"`
	RMSE             float64 `json:"rmse"`
	CosineSimilarity float64 `json:"cosine_similarity"`
	NumPruned        int     `json:"num_pruned"`
	Method           string  `json:"method"`      // methodName
	Kernel           string  `json:"kernel"`      // the Evaluator's
	TiesAtCut        int     `json:"ties_at_cut"` // chanprune.Tie.Size
	GroupSize        int     `json:"group_size"`  // 1: single channels
	NumPrunedGroups  int     `json:"num_pruned_groups"`
	repairJSON
}

func newPointJSON(p chanprune.Point, kernel string) pointJSON {
	return pointJSON{p.Set, p.Ratio, p.RMSE, p.CosineSimilarity, p.NumPruned, methodName(p.Method), kernel, p.Tie.Size(), p.GroupSize, p.NumPrunedGroups, newRepairJSON(p.Metrics)}
}

func writeSweepJSON(w io.Writer, points []chanprune.Point, kernel string) error {
	out := make([]pointJSON, len(points))
	for i, p := range points {
		out[i] = newPointJSON(p, kernel)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// writeSweepCSV writes a row per point; the columns added since the first
// release (method, kernel, ties_at_cut) come last, so the others keep their
// places.
func writeSweepCSV(w io.Writer, points []chanprune.Point, kernel string) error {
	cw := csv.NewWriter(w)
	cw.Write(append([]string{"scores", "ratio", "num_pruned", "rmse", "cosine_similarity", "method", "kernel", "ties_at_cut"}, repairCSVHeader...))
	for _, p := range points {
		cw.Write(append([]string{p.Set, strconv.FormatFloat(p.Ratio, 'g', -1, 64), strconv.Itoa(p.NumPruned),
			strconv.FormatFloat(p.RMSE, 'g', -1, 64), strconv.FormatFloat(p.CosineSimilarity, 'g', -1, 64),
			methodName(p.Method), kernel, strconv.Itoa(p.Tie.Size())}, newRepairJSON(p.Metrics).csv()...))
	}
	cw.Flush()
	return cw.Error()
}

func writeSweepText(w io.Writer, points []chanprune.Point, l chanprune.Linear, batches int, kernel string) error {
	fmt.Fprintf(w, "layer %d → %d, %s, kernel %s\n\n", l.In, l.Out, plural(batches, "batch"), kernel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scores\tratio\tpruned\trmse\tcosine\tmethod\tcompensation\t")
	for _, p := range points {
		fmt.Fprintf(tw, "%s\t%g\t%d\t%.6g\t%.8f\t%s\t%s\t\n", p.Set, p.Ratio, p.NumPruned, p.RMSE, p.CosineSimilarity, methodName(p.Method), p.Compensation)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeFitLine(w, points)
}
