package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/chanprune/chanprune/internal/clip"
)

// allocReport is the part of a report's JSON that allocate reads.
type allocReport struct {
	Shard  string `json:"shard"` // set in a part of a sharded report, which merge joins first
	Layers []struct {
		Name      string   `json:"name"`
		In        int      `json:"in"`
		Out       int      `json:"out"`
		OutputRMS *float64 `json:"output_rms"` // nil in reports made before it
		Points    []struct {
			Scores           string   `json:"scores"`
			Ratio            float64  `json:"ratio"`
			NumPruned        int      `json:"num_pruned"`
			RMSE             *float64 `json:"rmse"` // nil where a hand-edited report lost it
			CosineSimilarity *float64 `json:"cosine_similarity"`
			Compensation     string   `json:"compensation"` // "" (none) in reports made before it
		} `json:"points"`
	} `json:"layers"`
}

// allocLayer is one layer's choices: ratio 0 first, then the report's
// points of the score set and compensation asked for.
type allocLayer struct {
	name    string
	out     int64
	ratios  []float64
	pruned  []int
	options []option // weight: pruned·out
}

type allocLayerJSON struct {
	Name         string  `json:"name"`
	Ratio        float64 `json:"ratio"`
	NumPruned    int     `json:"num_pruned"`
	PrunedParams int64   `json:"pruned_params"`
	Objective    float64 `json:"objective"`
}

type uniformJSON struct {
	Ratio        float64 `json:"ratio"`
	PrunedParams int64   `json:"pruned_params"`
	Objective    float64 `json:"objective"`
}

type allocationJSON struct {
	Budget       float64          `json:"budget"`
	PrunedParams int64            `json:"pruned_params"`
	TotalParams  int64            `json:"total_params"`
	Objective    float64          `json:"objective"`
	Layers       []allocLayerJSON `json:"layers"`
	Uniform      *uniformJSON     `json:"uniform"` // null where no single ratio meets the budget
}

// runAllocate chooses each layer's prune ratio among those a report
// evaluated so that the pruned weights meet a budget at the least summed
// objective (solveCover), and compares the best uniform ratio.
func runAllocate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("allocate", flag.ContinueOnError)
	budgetArg := fs.String("budget", "", "prune at least the fraction `F` (in [0, 1]; 0.2, 1/5) of the layers' weights Σ in·out")
	scores := fs.String("scores", "", "choose among the points of the score set `NAME`")
	objective := fs.String("objective", "rel-rmse", "minimise the sum over layers of `OBJECTIVE`: rel-rmse (rmse/output_rms) or one-minus-cos (1 − cosine)")
	compensate := fs.String("compensate", "none", "choose among the points of compensation `MODE` (a point without one is none)")
	format := fs.String("format", "text", "output `format`: text or json")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("want one REPORT (report --format json), got %d arguments", len(files))
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("--format %q: want text or json", *format)
	}
	if *objective != "rel-rmse" && *objective != "one-minus-cos" {
		return fmt.Errorf("--objective %q: want rel-rmse or one-minus-cos", *objective)
	}
	if *scores == "" {
		return errors.New("--scores NAME is required: the score set whose points to choose from")
	}
	budget, ok := parseBudget(*budgetArg)
	if !ok {
		return fmt.Errorf("--budget %q: want a fraction in [0, 1], such as 0.2, 2e-1 or 1/5", clip.Value(*budgetArg))
	}
	var rep allocReport
	if err := readJSONFile("report", files[0], "a report's JSON (report --format json writes it)", &rep, false); err != nil {
		return err
	}
	if rep.Shard != "" {
		return fmt.Errorf("report %s: a part (shard %s) of a sharded report: join the parts with merge --format json first", clip.Value(files[0]), clip.Value(rep.Shard))
	}
	layers, total, err := allocLayers(rep, *scores, *compensate, *objective)
	if err != nil {
		return fmt.Errorf("report %s: %w", clip.Value(files[0]), err)
	}
	need := ceilTimes(budget, total)
	problem := make([][]option, len(layers))
	for i, l := range layers {
		problem[i] = l.options
	}
	pick, cost, ok := solveCover(problem, need)
	if ok && math.IsInf(cost, 0) {
		return fmt.Errorf("report %s: the layers' objectives sum past float64's range", clip.Value(files[0]))
	}
	if !ok {
		most := mostWeight(problem)
		return fmt.Errorf("--budget %s: the grid prunes at most %d of the %d weights (%.6g): choose a budget up to that, or evaluate higher ratios",
			clip.Value(*budgetArg), most, total, float64(most)/float64(total))
	}
	f, _ := budget.Float64()
	a := allocationJSON{Budget: f, TotalParams: total, Objective: cost, Uniform: bestUniform(layers, need)}
	for i, l := range layers {
		j := pick[i]
		a.PrunedParams += l.options[j].weight
		a.Layers = append(a.Layers, allocLayerJSON{l.name, l.ratios[j], l.pruned[j], l.options[j].weight, l.options[j].cost})
	}
	if *format == "json" {
		return writeIndented(stdout, a)
	}
	return writeAllocationText(stdout, a, *scores, *objective)
}

// allocLayers gives each layer's choices for the score set and
// compensation asked for, costed by objective, and the weights in all.
func allocLayers(rep allocReport, scores, compensate, objective string) ([]allocLayer, int64, error) {
	if len(rep.Layers) == 0 {
		return nil, 0, errors.New("no layers")
	}
	var layers []allocLayer
	var total int64
	without := 0
	sets := map[string]bool{}
	for _, rl := range rep.Layers {
		name := clip.Value(rl.Name)
		if rl.In <= 0 || rl.Out <= 0 || rl.In > math.MaxInt32 || rl.Out > math.MaxInt32 || int64(rl.In)*int64(rl.Out) > math.MaxInt64/4-total {
			return nil, 0, fmt.Errorf("layer %q: shape %d → %d: want positive sizes whose products sum within int64", name, rl.In, rl.Out)
		}
		total += int64(rl.In) * int64(rl.Out)
		l := allocLayer{name: rl.Name, out: int64(rl.Out), ratios: []float64{0}, pruned: []int{0}, options: []option{{0, 0}}}
		for _, p := range rl.Points {
			sets[p.Scores] = true
			mode := p.Compensation
			if mode == "" {
				mode = "none"
			}
			if p.Scores != scores || mode != compensate {
				continue
			}
			if p.NumPruned < 0 || p.NumPruned > rl.In {
				return nil, 0, fmt.Errorf("layer %q: %s@%g prunes %d of %d channels", name, clip.Value(p.Scores), p.Ratio, p.NumPruned, rl.In)
			}
			var cost float64
			switch {
			case objective == "one-minus-cos" && p.CosineSimilarity == nil:
				return nil, 0, fmt.Errorf("layer %q: %s@%g has no cosine_similarity", name, clip.Value(p.Scores), p.Ratio)
			case objective == "one-minus-cos":
				cost = 1 - *p.CosineSimilarity
			case p.RMSE == nil:
				return nil, 0, fmt.Errorf("layer %q: %s@%g has no rmse", name, clip.Value(p.Scores), p.Ratio)
			case *p.RMSE < 0:
				return nil, 0, fmt.Errorf("layer %q: %s@%g: rmse %v is negative", name, clip.Value(p.Scores), p.Ratio, *p.RMSE)
			case rl.OutputRMS == nil:
				return nil, 0, fmt.Errorf("layer %q has no output_rms (a report made before it): run report again, or give --objective one-minus-cos", name)
			case *rl.OutputRMS <= 0 || math.IsNaN(*rl.OutputRMS):
				return nil, 0, fmt.Errorf("layer %q: output_rms %v: rmse/output_rms is undefined; give --objective one-minus-cos", name, *rl.OutputRMS)
			default:
				cost = *p.RMSE / *rl.OutputRMS
			}
			if math.IsNaN(cost) || math.IsInf(cost, 0) {
				return nil, 0, fmt.Errorf("layer %q: %s@%g: objective %v is not finite", name, clip.Value(p.Scores), p.Ratio, cost)
			}
			l.ratios, l.pruned = append(l.ratios, p.Ratio), append(l.pruned, p.NumPruned)
			l.options = append(l.options, option{int64(p.NumPruned) * l.out, cost})
		}
		if len(l.options) == 1 {
			without++
		}
		layers = append(layers, l)
	}
	if without == len(layers) {
		return nil, 0, fmt.Errorf("no layer has points of --scores %q with compensation %q (its score sets: %s)", clip.Value(scores), clip.Value(compensate), strings.Join(slices.Sorted(maps.Keys(sets)), ", "))
	}
	if without > 0 {
		fmt.Fprintf(progressOut, "chanprune: warning: %d of %d layers have no points of --scores %q with compensation %q: they stay unpruned\n", without, len(layers), clip.Value(scores), clip.Value(compensate))
	}
	return layers, total, nil
}

// parseBudget reads a fraction in [0, 1] exactly, as a decimal (with an
// exponent of at most two digits) or a ratio of integers: big.Rat alone
// would compute 10^N for any exponent N it is given.
func parseBudget(v string) (*big.Rat, bool) {
	if len(v) == 0 || len(v) > 64 || strings.Trim(v, "0123456789.eE+-/") != "" {
		return nil, false
	}
	if i := strings.IndexAny(v, "eE"); i >= 0 {
		if exp, err := strconv.Atoi(v[i+1:]); err != nil || exp < -99 || exp > 99 {
			return nil, false
		}
	}
	r, ok := new(big.Rat).SetString(v)
	return r, ok && r.Sign() >= 0 && r.Cmp(big.NewRat(1, 1)) <= 0
}

// ceilTimes is ⌈f·n⌉, exactly: the weights a budget f of n asks for.
func ceilTimes(f *big.Rat, n int64) int64 {
	p := new(big.Rat).Mul(f, new(big.Rat).SetInt64(n))
	q, r := new(big.Int).QuoRem(p.Num(), p.Denom(), new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64() // f ≤ 1, so q ≤ n
}

// bestUniform is the ratio that, given to every layer, meets need at the
// least objective, ratio 0 included; nil where none does. A ratio counts
// only where every layer evaluated it.
func bestUniform(layers []allocLayer, need int64) *uniformJSON {
	var best *uniformJSON
	for _, r := range layers[0].ratios {
		u := uniformJSON{Ratio: r}
		every := true
		for _, l := range layers {
			j := indexOf(l.ratios, r)
			if j < 0 {
				every = false
				break
			}
			u.PrunedParams += l.options[j].weight
			u.Objective += l.options[j].cost
		}
		if every && u.PrunedParams >= need && (best == nil || u.Objective < best.Objective) {
			best = &u
		}
	}
	return best
}

func indexOf(xs []float64, x float64) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

func writeAllocationText(w io.Writer, a allocationJSON, scores, objective string) error {
	fmt.Fprintf(w, "%d of %d weights pruned (%.4g, budget %g), scores %s, %s %.6g in all\n\n",
		a.PrunedParams, a.TotalParams, float64(a.PrunedParams)/float64(a.TotalParams), a.Budget, scores, objective, a.Objective)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "layer\tratio\tpruned\tpruned weights\t%s\t\n", objective)
	for _, l := range a.Layers {
		fmt.Fprintf(tw, "%s\t%g\t%d\t%d\t%.6g\t\n", l.Name, l.Ratio, l.NumPruned, l.PrunedParams, l.Objective)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if a.Uniform == nil {
		_, err := fmt.Fprintln(w, "\nno single ratio that every layer evaluated meets the budget")
		return err
	}
	_, err := fmt.Fprintf(w, "\nbest uniform ratio %g: %d weights pruned, %s %.6g in all\n", a.Uniform.Ratio, a.Uniform.PrunedParams, objective, a.Uniform.Objective)
	return err
}
