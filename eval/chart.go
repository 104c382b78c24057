package eval

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Point is one setting on an accuracy-against-depth chart.
type Point struct {
	Label    string
	Layers   float64 // mean layers per generated token
	Accuracy float64 // 0..1
	// Series groups points that share a colour and a legend entry
	// ("full", "decay", "uniform", "Pareto front"...).
	Series string
}

// Kind is the series a schedule belongs to on charts.
func Kind(s Setting) string {
	switch {
	case s.LayerPlans != "":
		return "layer plan"
	case s.Schedule.Keep > 0:
		return "uniform"
	case s.Schedule.Alpha < 1:
		return "decay"
	}
	return "full"
}

// PlotAccuracy draws the points as a labelled scatter, one colour per
// series, and line (when not empty) as a connected front. The format
// follows the file extension (.svg, .png, .pdf).
func PlotAccuracy(path, title string, pts []Point, line []Point) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "mean layers per generated token"
	p.Y.Label.Text = "accuracy (%)"
	// Points sit near the top (accurate settings); the legend goes below.
	p.Legend.Top = false
	p.Legend.Left = true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), vg.Points(8)
	p.Add(plotter.NewGrid())
	var series []string
	bySeries := map[string]plotter.XYs{}
	for _, q := range pts {
		if _, ok := bySeries[q.Series]; !ok {
			series = append(series, q.Series)
		}
		bySeries[q.Series] = append(bySeries[q.Series], plotter.XY{X: q.Layers, Y: 100 * q.Accuracy})
	}
	if len(line) > 0 {
		xys := make(plotter.XYs, len(line))
		for i, q := range line {
			xys[i] = plotter.XY{X: q.Layers, Y: 100 * q.Accuracy}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("eval: chart: %w", err)
		}
		l.Color = color.Gray{Y: 140}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add("Pareto front", l)
	}
	for i, name := range series {
		sc, err := plotter.NewScatter(bySeries[name])
		if err != nil {
			return fmt.Errorf("eval: chart: %w", err)
		}
		sc.GlyphStyle.Color = plotutil.Color(i)
		sc.GlyphStyle.Shape = plotutil.Shape(i)
		sc.GlyphStyle.Radius = vg.Points(3.5)
		p.Add(sc)
		p.Legend.Add(name, sc)
	}
	if len(pts) <= 24 {
		xys := make(plotter.XYs, len(pts))
		labels := make([]string, len(pts))
		for i, q := range pts {
			xys[i] = plotter.XY{X: q.Layers, Y: 100 * q.Accuracy}
			labels[i] = q.Label
		}
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return fmt.Errorf("eval: chart: %w", err)
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].XAlign = draw.XLeft
			lb.TextStyle[i].Font.Size = vg.Points(7)
		}
		lb.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(2)}
		p.Add(lb)
	}
	// Room around the points, and on the right for their labels.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, q := range pts {
		lo, hi = math.Min(lo, q.Layers), math.Max(hi, q.Layers)
	}
	if len(pts) > 0 {
		span := math.Max(hi-lo, 1)
		p.X.Min, p.X.Max = lo-0.05*span, hi+0.2*span
	}
	p.Y.Min, p.Y.Max = 0, 105
	return save(p, path, 7*vg.Inch, 4.5*vg.Inch)
}

// LayersChart plots, for each result, the mean layers of the generated
// token at each position.
func LayersChart(path string, results []*Result) error {
	p := plot.New()
	p.Title.Text = "layers per generated token"
	p.X.Label.Text = "position of the generated token (T_i)"
	p.Y.Label.Text = "mean layers"
	p.Legend.Top = false
	p.Legend.Left = true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), vg.Points(8)
	p.Add(plotter.NewGrid())
	maxL := 0
	for i, r := range results {
		by := LayersByPosition(r)
		if len(by) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(by))
		for k, v := range by {
			xys[k] = plotter.XY{X: float64(k), Y: v}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("eval: chart: %w", err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(r.Setting.Name, l)
		maxL = max(maxL, r.NumLayers)
	}
	p.Y.Min = 0
	p.Y.Max = float64(maxL) + 1
	return save(p, path, 7*vg.Inch, 4*vg.Inch)
}

// LinePlot draws y against x (for analysis curves).
func LinePlot(path, title, xLabel, yLabel string, x, y []float64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	xys := make(plotter.XYs, len(x))
	for i := range x {
		xys[i] = plotter.XY{X: x[i], Y: y[i]}
	}
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("eval: chart: %w", err)
	}
	s.GlyphStyle.Radius = vg.Points(2)
	p.Add(l, s)
	return save(p, path, 7*vg.Inch, 4*vg.Inch)
}

func save(p *plot.Plot, path string, w, h vg.Length) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("eval: chart: %w", err)
	}
	if err := p.Save(w, h, path); err != nil {
		return fmt.Errorf("eval: chart %s: %w", path, err)
	}
	return nil
}
