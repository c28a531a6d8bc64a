package bench

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/stringtheory"
)

func TestSuite(t *testing.T) {
	specs := []Spec{
		{Name: "ensemble", Type: stringtheory.TypeEnsemble1D, Config: stringtheory.Config{NWaves: 2}, Epochs: 3, Paper: 0.01},
		{Name: "mlp", Type: stringtheory.TypeStringNN, Config: stringtheory.Config{HiddenSize: 4, NumLayers: 1}, Epochs: 2},
	}
	calls := 0
	rows, err := Suite(context.Background(), accel.NewCPU(accel.CPUConfig{}), specs, 1, 3, func(name string, run, runs, epoch, epochs int) {
		calls++
		if runs != 6 || run < 0 || run >= runs || epoch < 1 || epoch > epochs {
			t.Errorf("progress(%s, %d, %d, %d, %d)", name, run, runs, epoch, epochs)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3*3+3*2 {
		t.Errorf("%d progress calls, want 15", calls)
	}
	if len(rows) != 2 || len(rows[0].Runs) != 3 || rows[0].NParameters != 2*8+3 || rows[0].Epochs != 3 {
		t.Fatalf("rows = %+v", rows)
	}
	r := rows[0]
	if r.FinalLoss != r.Runs[r.Median].FinalLoss {
		t.Errorf("median final loss %v is not run %d's %v", r.FinalLoss, r.Median, r.Runs[r.Median].FinalLoss)
	}
	below := 0
	for _, run := range r.Runs {
		if run.FinalLoss < r.FinalLoss {
			below++
		}
	}
	if below != 1 {
		t.Errorf("%d runs below the median of 3", below)
	}
	if r.Runs[0].Fit == nil || rows[1].Runs[0].Fit != nil {
		t.Error("want a fit for the 1D row only")
	}

	var b strings.Builder
	if err := WriteTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[2], "| ensemble | 19 | 3 |") {
		t.Errorf("table:\n%s", b.String())
	}
	js, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "n_parameters", "epochs", "final_loss", "seconds"} {
		if _, ok := back[0][k]; !ok || len(back[0]) != 5 {
			t.Errorf("JSON row %v lacks %s or has extra fields", back[0], k)
		}
	}

	dir := t.TempDir()
	files, err := WritePlots(dir, rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("wrote %v", files)
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestTrainJSON(t *testing.T) {
	r, err := Train(context.Background(), accel.NewCPU(accel.CPUConfig{}), Spec{Type: stringtheory.TypeWave1D, Epochs: 2}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(js, &m)
	if len(m) != 6 || m["model"] != stringtheory.TypeWave1D || m["n_parameters"] != 8.0 || m["epochs"] != 2.0 {
		t.Errorf("JSON = %s", js)
	}
	if _, err := Suite(context.Background(), accel.NewCPU(accel.CPUConfig{}), nil, 1, 0, nil); err == nil {
		t.Error("zero seeds: no error")
	}
}
