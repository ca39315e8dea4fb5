package main

import (
	"cmp"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/atomicfile"
)

// plotPoint is one (score set, ratio) pair to draw: a sweep's values, or
// a report's mean with its spread across the Layers that evaluated it.
type plotPoint struct {
	Scores       string
	Ratio        float64
	RMSE, Cosine statsJSON
	Layers       int // 0 for a sweep
}

// plotSpec is what a plot shows: title over the points of one sweep
// (layers 0) or of a report's summary over layers layers.
type plotSpec struct {
	title  string
	points []plotPoint
	layers int
}

// sweepPlotPoints gives a sweep's points to draw.
func sweepPlotPoints(points []chanprune.Point) []plotPoint {
	out := make([]plotPoint, len(points))
	for i, p := range points {
		rmse := statsJSON{p.RMSE, 0, p.RMSE, p.RMSE}
		cos := statsJSON{p.CosineSimilarity, 0, p.CosineSimilarity, p.CosineSimilarity}
		out[i] = plotPoint{seriesName(p.Set, p.Compensation.String()), p.Ratio, rmse, cos, 0}
	}
	return out
}

// seriesName labels a plotted curve: the score set, and the repair when
// there is one, so that one set's curves under several --compensate modes
// stay apart.
func seriesName(set, compensation string) string {
	if compensation == "" || compensation == chanprune.CompensateNone.String() {
		return set
	}
	return set + " + " + compensation
}

// addPlot declares the --plot file path in outs, refusing a format not
// known before any work is done; "" is no plot and gives nil.
func addPlot(outs *atomicfile.Set, path string) (*atomicfile.Output, error) {
	if path == "" {
		return nil, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg", ".png":
		return outs.Add("--plot", path)
	}
	return nil, fmt.Errorf("--plot %s: want a .svg or .png file", path)
}

// titleFlag declares --title, the plot's title; "" keeps the command's
// default, which says what was evaluated.
func titleFlag(fs *flag.FlagSet) *string {
	return fs.String("title", "", "the --plot's `TITLE` (default: what was evaluated)")
}

// deliver puts the results out before the plot, an optional artefact:
// results prints them or stages them in outs, then the plot (if plotOut is
// not nil) is written and outs committed. A failed plot is dropped from
// outs, so the results still land, and its error is returned after them.
func deliver(outs *atomicfile.Set, results func() error, plotOut *atomicfile.Output, spec func() plotSpec) error {
	if err := results(); err != nil {
		return err
	}
	var plotErr error
	if plotOut != nil {
		if plotErr = writePlot(plotOut, spec()); plotErr != nil {
			outs.Drop(plotOut)
		}
	}
	if err := outs.Commit(); err != nil {
		return err
	}
	return plotErr
}

// writePlot draws the rmse and the cosine against the prune ratio, one
// line per score set, side by side under the title, to o (.svg or .png).
func writePlot(o *atomicfile.Output, spec plotSpec) error {
	const width, height = 11 * vg.Inch, 4.5 * vg.Inch
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	if strings.EqualFold(filepath.Ext(o.Path()), ".png") {
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(144))}
	} else {
		c = vgsvg.New(width, height)
	}
	if err := drawPlot(draw.New(c), spec); err != nil {
		return fmt.Errorf("--plot %s: %w", o.Path(), err)
	}
	return o.Write(func(w io.Writer) error { _, err := c.WriteTo(w); return err })
}

func drawPlot(dc draw.Canvas, spec plotSpec) error {
	// One series per score set, in the order first met, sorted by ratio.
	var names []string
	series := map[string][]plotPoint{}
	for _, p := range spec.points {
		if _, ok := series[p.Scores]; !ok {
			names = append(names, p.Scores)
		}
		series[p.Scores] = append(series[p.Scores], p)
	}
	rmse, cos := panel("RMSE"), panel("cosine similarity")
	var partial []plotPoint // report points from fewer than all layers
	for i, name := range names {
		s := series[name]
		slices.SortStableFunc(s, func(a, b plotPoint) int { return cmp.Compare(a.Ratio, b.Ratio) })
		for _, p := range s {
			if p.Layers > 0 && p.Layers < spec.layers {
				partial = append(partial, p)
			}
		}
		if err := addSeries(rmse, s, func(p plotPoint) statsJSON { return p.RMSE }, i, name, true, spec.layers > 0); err != nil {
			return err
		}
		if err := addSeries(cos, s, func(p plotPoint) statsJSON { return p.Cosine }, i, name, false, spec.layers > 0); err != nil {
			return err
		}
	}
	notes := 0
	if spec.layers > 0 {
		rmse.Legend.Add("bars: min–max over layers")
		notes++
	}
	if len(partial) > 0 {
		if err := markPartial(rmse, partial, func(p plotPoint) float64 { return p.RMSE.Mean }, spec.layers, true); err != nil {
			return err
		}
		if err := markPartial(cos, partial, func(p plotPoint) float64 { return p.Cosine.Mean }, spec.layers, false); err != nil {
			return err
		}
		notes++
	}
	// One legend, where the curves are not: rmse grows with the ratio,
	// leaving the top left free (and made taller for it).
	rmse.Legend.Top, rmse.Legend.Left = true, true
	rmse.Legend.XOffs, rmse.Legend.YOffs = vg.Points(8), -vg.Points(4)
	rmse.Y.Min = 0
	if rmse.Y.Max <= 0 { // nothing pruned
		rmse.Y.Max = 1
	}
	rmse.Y.Max *= 1.1 + 0.1*float64(len(names)+notes) // room for the legend
	// The cosine's axis ends at 1, the unchanged output.
	cos.Y.Max = max(1, cos.Y.Max)
	cos.Y.Min -= 0.05 * (cos.Y.Max - cos.Y.Min)
	if cos.Y.Max-cos.Y.Min < 1e-3 {
		cos.Y.Min = cos.Y.Max - 1e-3
	}
	lo, hi := ratioRange(spec.points)
	for _, p := range []*plot.Plot{rmse, cos} {
		p.X.Min, p.X.Max = lo, hi
	}

	dc.SetColor(color.White) // an opaque page for SVG viewers with dark backgrounds
	dc.Fill(dc.Rectangle.Path())
	head := text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, 13),
		XAlign:  draw.XCenter,
		YAlign:  draw.YTop,
		Handler: plot.DefaultTextHandler,
	}
	pad := vg.Length(6)
	title := shorten(spec.title, 120)
	dc.FillText(head, vg.Point{X: dc.Center().X, Y: dc.Max.Y - pad}, title)
	dc.Max.Y -= head.Height(title) + 2*pad
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 2, PadLeft: pad, PadRight: 2 * pad, PadBottom: pad}
	panels := plot.Align([][]*plot.Plot{{rmse, cos}}, tiles, dc)
	rmse.Draw(panels[0][0])
	cos.Draw(panels[0][1])
	return nil
}

// ratioRange is the x axis: the points' ratios with a small margin, within
// [0, 1]; the whole of [0, 1] when there are none.
func ratioRange(points []plotPoint) (lo, hi float64) {
	if len(points) == 0 {
		return 0, 1
	}
	lo, hi = points[0].Ratio, points[0].Ratio
	for _, p := range points {
		lo, hi = min(lo, p.Ratio), max(hi, p.Ratio)
	}
	margin := max(0.05*(hi-lo), 0.02)
	return max(0, lo-margin), min(1, hi+margin)
}

func panel(y string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text = "prune ratio"
	p.Y.Label.Text = y
	p.X.Tick.Marker = plot.TickerFunc(readableTicks)
	p.Y.Tick.Marker = plot.TickerFunc(readableTicks)
	p.X.Padding = vg.Points(6) // no glyph cut off at the ends
	p.Add(plotter.NewGrid())
	return p
}

// addSeries draws one score set's means as a line with its glyphs, and,
// for a report (spread), bars from each point's minimum to its maximum
// over the layers.
func addSeries(p *plot.Plot, s []plotPoint, value func(plotPoint) statsJSON, i int, name string, legend, spread bool) error {
	xy := make(plotter.XYs, len(s))
	var bars plotter.YErrors
	for j, pt := range s {
		v := value(pt)
		xy[j] = plotter.XY{X: pt.Ratio, Y: v.Mean}
		bars = append(bars, struct{ Low, High float64 }{v.Mean - v.Min, v.Max - v.Mean})
	}
	l, g, err := plotter.NewLinePoints(xy)
	if err != nil {
		return fmt.Errorf("score set %s: %w", name, err)
	}
	l.Color = plotutil.Color(i)
	l.Dashes = plotutil.Dashes(i)
	l.Width = vg.Points(1.5)
	g.Color = l.Color
	g.Shape = plotutil.Shape(i)
	if spread {
		e, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{xy, bars})
		if err != nil {
			return fmt.Errorf("score set %s: %w", name, err)
		}
		e.Color = l.Color
		e.Width = vg.Points(1)
		p.Add(e)
	}
	p.Add(l, g)
	if legend {
		p.Legend.Add(name, l, g)
	}
	return nil
}

// markPartial rings the report points that fewer than all layers
// evaluated and writes their layer count beside them, so that a mean over
// one layer is not read as one over all.
func markPartial(p *plot.Plot, pts []plotPoint, y func(plotPoint) float64, layers int, legend bool) error {
	xy := make(plotter.XYs, len(pts))
	labels := make([]string, len(pts))
	for i, pt := range pts {
		xy[i] = plotter.XY{X: pt.Ratio, Y: y(pt)}
		labels[i] = fmt.Sprintf("%d/%d", pt.Layers, layers)
	}
	ring, err := plotter.NewScatter(xy)
	if err != nil {
		return err
	}
	ring.Shape = draw.RingGlyph{}
	ring.Radius = vg.Points(7)
	ring.Color = color.Black
	count, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: labels})
	if err != nil {
		return err
	}
	for i := range count.TextStyle {
		count.TextStyle[i].XAlign = draw.XLeft
	}
	count.Offset = vg.Point{X: vg.Points(8), Y: vg.Points(2)}
	p.Add(ring, count)
	if legend {
		p.Legend.Add(fmt.Sprintf("from fewer than all %d layers (n/%d beside)", layers, layers), ring)
	}
	return nil
}

// readableTicks labels about five round values over [lo, hi] (on a tie,
// more), 1, 2 or 5 times a power of ten apart, with an unlabelled tick
// halfway between.
func readableTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 6, 64)}}
	}
	base := math.Pow(10, math.Floor(math.Log10(hi-lo)))
	step, count := 0.0, 0
	for _, c := range []float64{base / 10, base / 5, base / 2, base, 2 * base, 5 * base} {
		n := int(math.Floor(hi/c+1e-9) - math.Ceil(lo/c-1e-9) + 1)
		if step == 0 || abs(n-5) < abs(count-5) {
			step, count = c, n
		}
	}
	digits := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	var ticks []plot.Tick
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9; k++ {
		v := min(max(k*step, lo), hi) // within the range despite rounding
		if v == 0 {
			v = 0 // not -0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', digits, 64)})
		if half := v + step/2; half <= hi {
			ticks = append(ticks, plot.Tick{Value: half})
		}
	}
	if first := ticks[0].Value - step/2; first >= lo {
		ticks = append(ticks, plot.Tick{Value: first})
	}
	return ticks
}

func abs(n int) int { return max(n, -n) }

// shorten cuts s to n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
