package main

import (
	"fmt"
	"image/color"
	"io"
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

// plotPoint is one (score set, ratio) pair to draw.
type plotPoint struct {
	Scores       string
	Ratio        float64
	RMSE, Cosine float64
}

// sweepPlotPoints gives a sweep's points to draw.
func sweepPlotPoints(points []chanprune.Point) []plotPoint {
	out := make([]plotPoint, len(points))
	for i, p := range points {
		out[i] = plotPoint{p.Set, p.Ratio, p.RMSE, p.CosineSimilarity}
	}
	return out
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

// writePlot draws the rmse and the cosine against the prune ratio, one
// line per score set, side by side under title, to o (.svg or .png).
func writePlot(o *atomicfile.Output, title string, points []plotPoint) error {
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
	drawPlot(draw.New(c), title, points)
	return o.Write(func(w io.Writer) error { _, err := c.WriteTo(w); return err })
}

func drawPlot(dc draw.Canvas, title string, points []plotPoint) {
	// One series per score set, in the order first met, sorted by ratio.
	var names []string
	series := map[string][]plotPoint{}
	for _, p := range points {
		if _, ok := series[p.Scores]; !ok {
			names = append(names, p.Scores)
		}
		series[p.Scores] = append(series[p.Scores], p)
	}
	rmse, cos := panel("RMSE"), panel("cosine similarity")
	for i, name := range names {
		s := series[name]
		slices.SortStableFunc(s, func(a, b plotPoint) int {
			switch {
			case a.Ratio < b.Ratio:
				return -1
			case a.Ratio > b.Ratio:
				return 1
			}
			return 0
		})
		r, c := make(plotter.XYs, len(s)), make(plotter.XYs, len(s))
		for j, p := range s {
			r[j] = plotter.XY{X: p.Ratio, Y: p.RMSE}
			c[j] = plotter.XY{X: p.Ratio, Y: p.Cosine}
		}
		addLine(rmse, r, i, name, true)
		addLine(cos, c, i, name, false)
	}
	// One legend, where the curves are not: rmse grows with the ratio,
	// leaving the top left free (and made taller for it).
	rmse.Legend.Top, rmse.Legend.Left = true, true
	rmse.Legend.XOffs, rmse.Legend.YOffs = vg.Points(8), -vg.Points(4)
	rmse.Y.Min = 0
	if rmse.Y.Max <= 0 { // nothing pruned
		rmse.Y.Max = 1
	}
	rmse.Y.Max *= 1.1 + 0.1*float64(len(names)) // room for the legend
	// The cosine's axis ends at 1, the unchanged output.
	cos.Y.Max = max(1, cos.Y.Max)
	cos.Y.Min -= 0.05 * (cos.Y.Max - cos.Y.Min)
	if cos.Y.Max-cos.Y.Min < 1e-3 {
		cos.Y.Min = cos.Y.Max - 1e-3
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
	title = shorten(title, 120)
	dc.FillText(head, vg.Point{X: dc.Center().X, Y: dc.Max.Y - pad}, title)
	dc.Max.Y -= head.Height(title) + 2*pad
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 2, PadLeft: pad, PadRight: 2 * pad, PadBottom: pad}
	panels := plot.Align([][]*plot.Plot{{rmse, cos}}, tiles, dc)
	rmse.Draw(panels[0][0])
	cos.Draw(panels[0][1])
}

func panel(y string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text = "prune ratio"
	p.Y.Label.Text = y
	p.X.Min, p.X.Max = 0, 1 // the ratios' whole range
	var ticks []plot.Tick
	for i := 0; i <= 10; i++ {
		t := plot.Tick{Value: float64(i) / 10}
		if i%2 == 0 {
			t.Label = strconv.FormatFloat(t.Value, 'f', 1, 64)
		}
		ticks = append(ticks, t)
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Padding = vg.Points(6) // no glyph cut off at 0 or 1
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, xy plotter.XYs, i int, name string, legend bool) {
	l, s, err := plotter.NewLinePoints(xy)
	if err != nil { // only for NaN or Inf values, which results never hold
		panic(err)
	}
	l.Color = plotutil.Color(i)
	l.Dashes = plotutil.Dashes(i)
	l.Width = vg.Points(1.5)
	s.Color = l.Color
	s.Shape = plotutil.Shape(i)
	p.Add(l, s)
	if legend {
		p.Legend.Add(name, l, s)
	}
}

// shorten cuts s to n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
