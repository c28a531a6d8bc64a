package bench

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
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot file names written by [WritePlots].
const (
	ConvergencePlot = "convergence.png"
	FitsPlot        = "fits_1d.png"
)

// WritePlots writes to dir (made if missing) the convergence curves of
// every row's median run on a log scale ([ConvergencePlot]) and, for the
// rows with a one-dimensional data set, the median run's fit against the
// ground truth, one panel per row ([FitsPlot]). It returns the files written.
func WritePlots(dir string, rows []Row) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	conv, err := convergence(rows)
	if err != nil {
		return nil, err
	}
	name := filepath.Join(dir, ConvergencePlot)
	if err := conv.Save(20*vg.Centimeter, 13*vg.Centimeter, name); err != nil {
		return nil, err
	}
	files = append(files, name)
	var fits []*plot.Plot
	for _, r := range rows {
		if len(r.Runs) == 0 || r.Runs[r.Median].Fit == nil {
			continue
		}
		p, err := fitPlot(r)
		if err != nil {
			return nil, err
		}
		fits = append(fits, p)
	}
	if len(fits) == 0 {
		return files, nil
	}
	name = filepath.Join(dir, FitsPlot)
	if err := saveTiles(name, fits, 2); err != nil {
		return nil, err
	}
	return append(files, name), nil
}

// convergence plots the loss of every row's median run against the epoch.
func convergence(rows []Row) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Training loss (Adam, median seed)"
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "MSE loss"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: 1}
	p.Legend.Top = true
	for i, r := range rows {
		if len(r.Runs) == 0 {
			continue
		}
		losses := r.Runs[r.Median].Losses
		pts := make(plotter.XYs, 0, len(losses))
		for e, l := range losses {
			if l > 0 && !math.IsInf(l, 0) {
				pts = append(pts, plotter.XY{X: float64(e + 1), Y: l})
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color = seriesColors[i%len(seriesColors)]
		line.Width = vg.Points(1.2)
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (%.3g)", r.Name, r.FinalLoss), line)
	}
	return p, nil
}

// fitPlot plots a row's median fit against the ground truth.
func fitPlot(r Row) (*plot.Plot, error) {
	run := r.Runs[r.Median]
	f := run.Fit
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s (loss %.3g)", r.Name, run.FinalLoss)
	p.X.Label.Text = "x"
	p.Y.Label.Text = "y"
	truth, pred := make(plotter.XYs, len(f.X)), make(plotter.XYs, len(f.X))
	for i, x := range f.X {
		truth[i] = plotter.XY{X: x, Y: f.Truth[i]}
		pred[i] = plotter.XY{X: x, Y: f.Pred[i]}
	}
	lt, err := plotter.NewLine(truth)
	if err != nil {
		return nil, err
	}
	lt.Color = color.Gray{Y: 110}
	lt.Width = vg.Points(1.5)
	lp, err := plotter.NewLine(pred)
	if err != nil {
		return nil, err
	}
	lp.Color = plotutil.Color(0)
	lp.Width = vg.Points(1)
	p.Add(lt, lp)
	p.Legend.Add("ground truth", lt)
	p.Legend.Add("model", lp)
	p.Legend.Top = true
	return p, nil
}

// saveTiles draws plots in a grid of cols columns into a PNG file.
func saveTiles(name string, plots []*plot.Plot, cols int) error {
	rows := (len(plots) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for i, p := range plots {
		grid[i/cols][i%cols] = p
	}
	img := vgimg.New(vg.Length(cols)*14*vg.Centimeter, vg.Length(rows)*9*vg.Centimeter)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(4)}
	canvases := plot.Align(grid, tiles, dc)
	for j := range grid {
		for i, p := range grid[j] {
			if p != nil {
				p.Draw(canvases[j][i])
			}
		}
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// seriesColors is the Tableau 10 palette: the rows' curves stay apart
// (plotutil's default palette has two reds).
var seriesColors = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff},
	color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff},
	color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
	color.RGBA{0xe3, 0x77, 0xc2, 0xff}, color.RGBA{0x7f, 0x7f, 0x7f, 0xff},
	color.RGBA{0xbc, 0xbd, 0x22, 0xff}, color.RGBA{0x17, 0xbe, 0xcf, 0xff},
}
