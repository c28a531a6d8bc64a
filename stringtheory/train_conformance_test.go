package stringtheory_test

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/internal/golden"
	"github.com/dredge-cli/dredge/stringtheory"
)

// trainAbs is the absolute floor of trajectory comparisons, for values near 0.
const trainAbs = 1e-12

type trajectory struct {
	Model        string               `json:"model"`
	Optimizer    string               `json:"optimizer"`
	Data         json.RawMessage      `json:"data"`
	Steps        int                  `json:"steps"`
	LR           float64              `json:"lr"`
	Initial      map[string][]float64 `json:"initial_parameters"`
	Losses       []float64            `json:"losses"`
	Final        map[string][]float64 `json:"final_parameters"`
	Dim          int                  `json:"dim"`
	NumFields    int                  `json:"num_fields"`
	OutFeatures  int                  `json:"out_features"`
	W0           float64              `json:"w0"`
	NumFeatures  int                  `json:"num_features"`
	B            []float64            `json:"B"`
	BShape       []int                `json:"B_shape"`
	Dimensions   int                  `json:"dimensions"`
	HiddenSize   int                  `json:"hidden_size"`
	NumLayers    int                  `json:"num_layers"`
	UseBatchNorm bool                 `json:"use_batch_norm"`
	Mode         string               `json:"mode"`
}

type trainingFile struct {
	trainingData
	Trajectories     []trajectory `json:"trajectories"`
	MoreTrajectories []trajectory `json:"more_trajectories"`
}

var (
	lrPattern   = regexp.MustCompile(`lr=([0-9.eE+-]+)`)
	gridPattern = regexp.MustCompile(`grid[ _]?(\d+)\)`)
)

// learningRate is the case's lr field, or the lr= of its optimizer text.
func (c *trajectory) learningRate(t *testing.T) float64 {
	if c.LR != 0 {
		return c.LR
	}
	if m := lrPattern.FindStringSubmatch(c.Optimizer); m != nil {
		lr, err := strconv.ParseFloat(m[1], 64)
		if err == nil {
			return lr
		}
	}
	t.Fatalf("%s: no learning rate in the case", c.Model)
	return 0
}

// config derives the model's configuration from the case's own fields and
// parameter shapes.
func (c *trajectory) config(t *testing.T) stringtheory.Config {
	switch c.Model {
	case stringtheory.TypeEnsemble1D, stringtheory.TypeEnsemble4D, stringtheory.TypeEnsemble6D:
		return stringtheory.Config{NWaves: len(c.Initial["head.weight"])}
	case stringtheory.TypeInterferenceBasis:
		return stringtheory.Config{Dim: c.Dim, NumFields: c.NumFields, OutFeatures: c.OutFeatures}
	case stringtheory.TypeSIREN:
		var d struct{ X, Y []float64 }
		if err := json.Unmarshal(c.Data, &d); err != nil {
			t.Fatal(err)
		}
		in := len(d.X) / len(d.Y)
		return stringtheory.Config{InputDim: in, HiddenSize: len(c.Initial["0.linear.weight"]) / in, NumLayers: sirenLayers(c.Initial), W0: c.W0}
	case stringtheory.TypeRFF:
		if len(c.BShape) != 2 {
			t.Fatalf("rff: B_shape %v", c.BShape)
		}
		return stringtheory.Config{InputDim: c.BShape[0], NumFeatures: c.BShape[1]}
	case stringtheory.TypeStringNN:
		return stringtheory.Config{Dimensions: c.Dimensions, HiddenSize: c.HiddenSize, NumLayers: c.NumLayers, UseBatchNorm: c.UseBatchNorm}
	}
	return stringtheory.Config{}
}

// dataset builds the case's training set: a named set (the file's own
// signal where its size matches) or the inline data.
func (c *trajectory) dataset(t *testing.T, f *trainingFile, m stringtheory.Model) stringtheory.Dataset {
	var name string
	if err := json.Unmarshal(c.Data, &name); err == nil {
		size := 0
		if g := gridPattern.FindStringSubmatch(name); g != nil {
			size, _ = strconv.Atoi(g[1])
		}
		// grid builds the named grid at the name's size (the file's by
		// default), with the file's signal when the sizes match.
		grid := func(build func(side int) stringtheory.Dataset, g gridData) stringtheory.Dataset {
			side := cmp.Or(size, g.GridSize)
			d := build(side)
			if side == g.GridSize && len(g.Signal) == d.N {
				d.Target = g.Signal
			}
			return d
		}
		switch {
		case strings.HasPrefix(name, "glitchy_chirp"):
			d := stringtheory.GlitchyChirp()
			if len(f.Data.GlitchyChirp.Y) == d.N {
				d.Target = f.Data.GlitchyChirp.Y
			}
			return d
		case strings.HasPrefix(name, "grid_4d"):
			return grid(stringtheory.Grid4D, f.Data.Grid4D)
		case strings.HasPrefix(name, "grid_6d"):
			return grid(stringtheory.Grid6D, f.Data.Grid6D)
		}
		t.Fatalf("%s: unknown data set %q", c.Model, name)
	}
	var inline map[string][]float64
	if err := json.Unmarshal(c.Data, &inline); err != nil {
		t.Fatalf("%s: data: %v", c.Model, err)
	}
	y := inline["y"]
	n := len(y) / m.OutputWidth()
	d := stringtheory.Dataset{Name: "inline", N: n, Inputs: map[string][]float64{}, Target: y}
	for _, in := range m.Inputs() {
		d.Inputs[in.Name] = inline[in.Name]
	}
	return d
}

func TestConformanceTraining(t *testing.T) {
	var f trainingFile
	golden.Load(t, "training.json", &f)
	if len(f.Trajectories) == 0 || len(f.MoreTrajectories) == 0 {
		t.Fatal("training.json has no trajectories")
	}
	dev := accel.NewCPU(accel.CPUConfig{})
	run := func(section string, cases []trajectory) {
		for i, c := range cases {
			label := golden.Fmt("%s[%d] %s", section, i, c.Model)
			t.Run(strings.ReplaceAll(label, " ", "_"), func(t *testing.T) {
				checkTrajectory(t, dev, &f, &c, label)
			})
		}
	}
	run("trajectories", f.Trajectories)
	run("more_trajectories", f.MoreTrajectories)
}

func checkTrajectory(t *testing.T, dev accel.Device, f *trainingFile, c *trajectory, label string) {
	m, err := stringtheory.New(c.Model, c.config(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	init := c.Initial
	if c.Model == stringtheory.TypeRFF {
		init = map[string][]float64{"B": c.B}
		maps.Copy(init, c.Initial)
	}
	if err := m.SetValues(init); err != nil {
		t.Fatalf("SetValues: %v", err)
	}
	data := c.dataset(t, f, m)
	steps := cmp.Or(c.Steps, len(c.Losses))
	res, err := stringtheory.Train(context.Background(), dev, m, data, stringtheory.TrainConfig{Epochs: steps, LearningRate: c.learningRate(t)})
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	golden.CheckSlice(t, label+" losses", res.Losses, c.Losses, golden.TrainingRel, trainAbs)
	for _, name := range slices.Sorted(maps.Keys(c.Final)) {
		got, ok := m.(interface {
			Tensor(string) ([]float64, bool)
		}).Tensor(name)
		if !ok {
			t.Errorf("%s: no parameter %q", label, name)
			continue
		}
		golden.CheckSlice(t, label+" final "+name, got, c.Final[name], golden.TrainingRel, trainAbs)
	}
	if math.IsNaN(res.FinalLoss) || res.InitialLoss != res.Losses[0] {
		t.Errorf("%s: initial loss %v, final loss %v", label, res.InitialLoss, res.FinalLoss)
	}
}
