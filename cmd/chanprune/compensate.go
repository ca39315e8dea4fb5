package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/tensorfile"
)

// compensation is what --compensate, --damp and --fit ask of eval, sweep
// and report: the layer repaired after pruning (README, "Compensation").
type compensation struct {
	modesText string
	damp      float64
	fit       refList
	list      bool          // --compensate takes a comma list
	fs        *flag.FlagSet // to tell a --damp given from its default
}

// refList collects a repeated flag's values.
type refList []string

func (r *refList) String() string     { return strings.Join(*r, ",") }
func (r *refList) Set(v string) error { *r = append(*r, v); return nil }

// compensationFlags registers --compensate and --damp on fs, and --fit
// where withFit; list lets --compensate take several modes.
func compensationFlags(fs *flag.FlagSet, list, withFit bool) *compensation {
	c := &compensation{list: list, fs: fs}
	usage := "repair the layer after pruning: `MODE` none, bias (fold the pruned channels' mean into the bias) or lstsq (least-squares refit of the kept weights)"
	if list {
		usage = "comma-separated `MODES` of repair after pruning, each none, bias or lstsq; every point is evaluated in each"
	}
	fs.StringVar(&c.modesText, "compensate", "none", usage)
	fs.Float64Var(&c.damp, "damp", chanprune.DefaultDamp, "lstsq's ridge damping `D`: λ = D·mean over the kept channels of their scatter")
	if withFit {
		fs.Var(&c.fit, "fit", "fit the repair on batch `REF` (repeatable; any batch reference or container) instead of on the evaluated batches: the honest, held-out measure")
	}
	return c
}

// modes parses --compensate.
func (c *compensation) modes() ([]chanprune.Compensation, error) {
	fields := []string{c.modesText}
	if c.list {
		fields = strings.Split(c.modesText, ",")
	}
	var modes []chanprune.Compensation
	for _, f := range fields {
		m, err := chanprune.ParseCompensation(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("--compensate %q: want none, bias or lstsq", c.modesText)
		}
		for _, have := range modes {
			if have == m {
				return nil, fmt.Errorf("--compensate %q: %s given twice", c.modesText, m)
			}
		}
		modes = append(modes, m)
	}
	if !(c.damp >= 0) || c.damp > 1e300 {
		return nil, fmt.Errorf("--damp %v: want a number ≥ 0", c.damp)
	}
	c.warnUnused(modes)
	return modes, nil
}

// warnUnused prints a line on stderr for --fit where no mode repairs and
// for a --damp given where no mode is lstsq: the numbers are those of the
// flags left out, and a loop over modes may pass both to every run.
func (c *compensation) warnUnused(modes []chanprune.Compensation) {
	if len(c.fit) > 0 && !repairs(modes) {
		fmt.Fprintf(progressOut, "chanprune: warning: --fit is unused: --compensate %s repairs nothing\n", c.modesText)
	}
	if givenFlags(c.fs)["damp"] && !slices.Contains(modes, chanprune.CompensateLstsq) {
		fmt.Fprintf(progressOut, "chanprune: warning: --damp is unused: --compensate %s has no lstsq\n", c.modesText)
	}
}

// passes returns how many times the evaluated batches are read for modes
// and points (score set, ratio) pairs: once for none, once per point for
// a repair, and once more to fit a repair on them without --fit.
func (c *compensation) passes(modes []chanprune.Compensation, points int) int {
	n := 0
	for _, m := range modes {
		if m == chanprune.CompensateNone {
			n++
		} else {
			n += points
		}
	}
	if len(c.fit) == 0 && repairs(modes) {
		n++
	}
	return n
}

func repairs(modes []chanprune.Compensation) bool {
	for _, m := range modes {
		if m != chanprune.CompensateNone {
			return true
		}
	}
	return false
}

// evaluate runs one stream over the batches for none and, for a repair,
// one per point (so that memory holds one repaired layer), and returns the
// points mode by mode. A repair is fitted first, on the --fit batches or on
// the evaluated ones (one more pass). what names the layer in warnings.
func (c *compensation) evaluate(e *chanprune.Evaluator, sets []chanprune.ScoreSet, ratios []float64, modes []chanprune.Compensation,
	files []string, stacked bool, in int, p progress, what string) ([]chanprune.Point, error) {
	var fit *chanprune.Fit
	if repairs(modes) {
		var err error
		if fit, err = c.fitSet(e, files, stacked, in, p); err != nil {
			return nil, err
		}
		warnFewFitTokens(what, fit, modes, ratios, in, len(c.fit) > 0)
	}
	var points []chanprune.Point
	for _, mode := range modes {
		r := chanprune.Repair{Mode: mode, Damp: c.damp}
		if mode == chanprune.CompensateNone {
			pts, err := c.stream(e, sets, ratios, r, files, stacked, in, p)
			if err != nil {
				return nil, err
			}
			points = append(points, pts...)
			continue
		}
		r.Fit = fit
		for _, set := range sets {
			for _, ratio := range ratios {
				pts, err := c.stream(e, []chanprune.ScoreSet{set}, []float64{ratio}, r, files, stacked, in, p)
				if err != nil {
					return nil, err
				}
				pts[0].FitEvaluated = len(c.fit) == 0
				points = append(points, pts...)
			}
		}
	}
	return points, nil
}

// stream evaluates sets at ratios repaired by r over the batches.
func (c *compensation) stream(e *chanprune.Evaluator, sets []chanprune.ScoreSet, ratios []float64, r chanprune.Repair,
	files []string, stacked bool, in int, p progress) ([]chanprune.Point, error) {
	s, err := e.NewRepairedStream(sets, ratios, r)
	if errors.Is(err, chanprune.ErrNotPositiveDefinite) {
		return nil, fmt.Errorf("--compensate lstsq --damp %v: %w", c.damp, err)
	} else if err != nil {
		return nil, fmt.Errorf("--scores: %w", err)
	}
	batches, err := openBatches(files, stacked)
	if err != nil {
		return nil, err
	}
	if err := observeBatches(s, batches, in, p); err != nil {
		return nil, err
	}
	return s.Result()
}

// fitSet observes the --fit batches, or the evaluated ones, into a Fit.
func (c *compensation) fitSet(e *chanprune.Evaluator, files []string, stacked bool, in int, p progress) (*chanprune.Fit, error) {
	refs, what := files, "batch"
	if len(c.fit) > 0 {
		refs, what = c.fit, "--fit"
	}
	b, err := tensorfile.OpenBatches(refs, stacked)
	if err != nil {
		return nil, fmt.Errorf("%s %w", what, err)
	}
	fit := e.NewFit()
	err = readBatches(b, func(x *tensorfile.Array) error {
		if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != in {
			return fmt.Errorf("shape %v does not end in the layer's %d input channels", x.Shape, in)
		}
		if len(c.fit) == 0 {
			p.Add(1)
		}
		return fit.Observe(x.Data)
	})
	if err != nil && len(c.fit) > 0 {
		err = fmt.Errorf("--fit: %w", err)
	}
	return fit, err
}

// minFitTokensPerChannel is how many fit tokens per kept channel lstsq
// wants before its refit stops chasing the fit set's noise; below it the
// repair can be worse than none on other batches.
const minFitTokensPerChannel = 16

// warnFewFitTokens warns, in one line, when lstsq is fitted on fewer than
// minFitTokensPerChannel tokens per kept channel at some ratio; heldOut
// says the fit set was given by --fit.
func warnFewFitTokens(what string, fit *chanprune.Fit, modes []chanprune.Compensation, ratios []float64, in int, heldOut bool) {
	lstsq := false
	for _, m := range modes {
		lstsq = lstsq || m == chanprune.CompensateLstsq
	}
	kept := 0 // the most kept channels of a pair that prunes some
	for _, r := range ratios {
		if k := chanprune.NumPruned(in, r); k > 0 {
			kept = max(kept, in-k)
		}
	}
	if !lstsq || kept == 0 || fit.Tokens() >= minFitTokensPerChannel*kept {
		return
	}
	advice := "measure it on held-out batches with --fit"
	if heldOut {
		advice = "more --fit batches make it safer"
	}
	fmt.Fprintf(progressOut, "chanprune: warning: %s: lstsq is fitted on %d tokens for up to %d kept channels (fewer than %d per channel): the refit can overfit and be worse than no repair on other batches; %s\n",
		what, fit.Tokens(), kept, minFitTokensPerChannel, advice)
}

// repairJSON is what a result says of its repair, in json.
type repairJSON struct {
	Compensation string  `json:"compensation"`
	Damp         float64 `json:"damp,omitempty"`       // lstsq's
	FitTokens    int     `json:"fit_tokens,omitempty"` // rows of the fit set
	Fit          string  `json:"fit,omitempty"`        // fitFrom
}

func newRepairJSON(m chanprune.Metrics) repairJSON {
	return repairJSON{m.Compensation.String(), m.Damp, m.FitTokens, fitFrom(m)}
}

// fitFrom says where a repair was fitted: "evaluated batches", "--fit
// batches", or "" for none.
func fitFrom(m chanprune.Metrics) string {
	switch {
	case m.Compensation == chanprune.CompensateNone:
		return ""
	case m.FitEvaluated:
		return "evaluated batches"
	}
	return "--fit batches"
}

// repairText describes a repair in a line of text output.
func repairText(m chanprune.Metrics) string {
	switch m.Compensation {
	case chanprune.CompensateNone:
		return "none"
	case chanprune.CompensateLstsq:
		return fmt.Sprintf("lstsq (damp %g), fitted on the %s (%s)", m.Damp, fitFrom(m), plural(m.FitTokens, "token"))
	}
	return fmt.Sprintf("%s, fitted on the %s (%s)", m.Compensation, fitFrom(m), plural(m.FitTokens, "token"))
}

// repairCSVHeader names the columns repairJSON.csv writes, after the
// others so that theirs keep their places.
var repairCSVHeader = []string{"compensation", "damp", "fit_tokens", "fit"}

func (r repairJSON) csv() []string {
	return []string{r.Compensation, strconv.FormatFloat(r.Damp, 'g', -1, 64), strconv.Itoa(r.FitTokens), r.Fit}
}

// writeFitLine says, under a table of points, where their repairs were
// fitted; nothing if none was repaired.
func writeFitLine(w io.Writer, points []chanprune.Point) error {
	for _, p := range points {
		if p.Compensation != chanprune.CompensateNone {
			_, err := fmt.Fprintf(w, "\nrepairs fitted on the %s (%s); lstsq damp %g\n", fitFrom(p.Metrics), plural(p.FitTokens, "token"), p.Damp)
			return err
		}
	}
	return nil
}
