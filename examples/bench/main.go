package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/internal/bench"
	"github.com/dredge-cli/dredge/stringtheory"
)

func main() {
	var (
		model  = flag.String("model", stringtheory.TypeEnsemble1D, "model type to train: "+strings.Join(stringtheory.ModelTypes, ", "))
		waves  = flag.Int("waves", 0, "ensemble size (n_waves), or the interference basis's field count; 0: the model's default")
		epochs = flag.Int("epochs", 1000, "training epochs")
		lr     = flag.Float64("lr", 1e-3, "Adam learning rate")
		seed   = flag.Uint64("seed", 1, "initialisation seed (the suite uses seed, seed+1, …)")
		asJSON = flag.Bool("json", false, "print JSON instead of text")
		suite  = flag.String("suite", "", `run a suite instead of one model: "paper"`)
		seeds  = flag.Int("seeds", 3, "seeds per suite row")
		out    = flag.String("out", "", "directory for the suite's PNG plots (none when empty)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dev := accel.NewCPU(accel.CPUConfig{})
	bar := newProgress()
	var err error
	switch *suite {
	case "":
		err = runOne(ctx, dev, *model, *waves, *epochs, *lr, *seed, *asJSON, bar)
	case "paper":
		err = runSuite(ctx, dev, *seed, *seeds, *out, *asJSON, bar)
	default:
		err = fmt.Errorf("unknown suite %q (known: paper)", *suite)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func runOne(ctx context.Context, dev accel.Device, model string, waves, epochs int, lr float64, seed uint64, asJSON bool, bar *progress) error {
	cfg := stringtheory.Config{NWaves: waves}
	if model == stringtheory.TypeInterferenceBasis {
		cfg = stringtheory.Config{NumFields: waves}
	}
	spec := bench.Spec{Name: model, Type: model, Config: cfg, Epochs: epochs, LR: lr}
	r, err := bench.Train(ctx, dev, spec, seed, func(e int) { bar.update(model, 0, 1, e+1, epochs) })
	bar.done()
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	_, err = fmt.Printf("%s: %d parameters, %d epochs, loss %.6g → %.6g in %.3f s (%.3f ms/epoch)\n",
		r.Model, r.NParameters, r.Epochs, r.InitialLoss, r.FinalLoss, r.Seconds, r.Seconds*1e3/float64(r.Epochs))
	return err
}

func runSuite(ctx context.Context, dev accel.Device, seed uint64, seeds int, out string, asJSON bool, bar *progress) error {
	rows, err := bench.Suite(ctx, dev, bench.PaperRows(), seed, seeds, bar.update)
	bar.done()
	if err != nil {
		return err
	}
	if out != "" {
		files, err := bench.WritePlots(out, rows)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintln(os.Stderr, "wrote", f)
		}
	}
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(rows)
	}
	return bench.WriteTable(os.Stdout, rows)
}

// progress draws a one-line progress bar on stderr when stderr is a
// terminal; otherwise it does nothing.
type progress struct {
	on   bool
	last time.Time
}

func newProgress() *progress {
	fi, err := os.Stderr.Stat()
	return &progress{on: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func (p *progress) update(name string, run, runs, epoch, epochs int) {
	if !p.on || (time.Since(p.last) < 100*time.Millisecond && epoch != epochs) {
		return
	}
	p.last = time.Now()
	const width = 30
	frac := (float64(run) + float64(epoch)/float64(epochs)) / float64(runs)
	n := int(frac * width)
	fmt.Fprintf(os.Stderr, "\r[%s%s] %3.0f%% %s run %d/%d epoch %d/%d\x1b[K",
		strings.Repeat("#", n), strings.Repeat(".", width-n), 100*frac, name, run+1, runs, epoch, epochs)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(os.Stderr, "\r\x1b[K")
	}
}
