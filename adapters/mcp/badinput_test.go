package mcp

import (
	"encoding/json"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
)

// TestBadNumbers checks that a bad element in any numeric array of a tool's
// arguments gets a tool error naming the field and the index, and that a
// rejected load_model adds no model.
func TestBadNumbers(t *testing.T) {
	eng := newEngine(t)
	cs := connect(t, eng)
	ctx := testContext(t)
	load := func(args string) string {
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "load_model", Arguments: json.RawMessage(args)})
		if err != nil || res.IsError {
			t.Fatalf("load_model(%s): %v %v", args, err, res)
		}
		return decode(t, res.StructuredContent).(map[string]any)["model_id"].(string)
	}
	wave := load(`{"model_type":"quasimoto_1d"}`)
	mlp := load(`{"model_type":"string_theory","config":{"dimensions":3,"hidden_size":4}}`)
	before, err := eng.ListModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{`null`, `"1"`, `true`, `1e400`} {
		for _, c := range []struct{ tool, args, field string }{
			{"unified_inference", `{"quasimoto_coords":[0.5,` + v + `]}`, "quasimoto_coords[1]"},
			{"unified_inference", `{"string_modes":[` + v + `,2]}`, "string_modes[0]"},
			{"inference", `{"model_id":"` + wave + `","inputs":{"t":[0,0,0,0],"x":[1,2,3,` + v + `]}}`, "inputs.x[3]"},
			{"inference", `{"model_id":"` + mlp + `","inputs":{"x":[[1,2,3],[4,5,6],[7,` + v + `,9]]}}`, "inputs.x[2][1]"},
			{"load_model", `{"model_type":"quasimoto_1d","config":{"parameters":{"A":[` + v + `]}}}`, "config.parameters.A[0]"},
		} {
			res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: c.tool, Arguments: json.RawMessage(c.args)})
			if err != nil {
				t.Errorf("%s(%s): protocol error %v, want a tool error", c.tool, c.args, err)
				continue
			}
			if !res.IsError {
				t.Errorf("%s(%s): no tool error: %s", c.tool, c.args, text(t, res))
				continue
			}
			m, _ := decode(t, res.StructuredContent).(map[string]any)
			if m["code"] != string(dredge.CodeInvalidArgument) || m["field"] != c.field || !strings.Contains(text(t, res), c.field) {
				t.Errorf("%s(%s): got %v, text %q; want invalid_argument on %s", c.tool, c.args, m, text(t, res), c.field)
			}
		}
	}
	if after, err := eng.ListModels(ctx); err != nil || len(after.Models) != len(before.Models) {
		t.Errorf("%d models before the bad calls, %d after (%v)", len(before.Models), len(after.Models), err)
	}
}
