package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge"
)

// badNumberCases returns, for a bad element v, a request per numeric
// array of the operations with v at a known index, and the field its
// error must name.
func badNumberCases(t *testing.T, eng *dredge.Engine, v string) []struct{ op, params, field string } {
	t.Helper()
	load := func(params string) string {
		body, code := eng.CallJSON(context.Background(), "load_model", json.RawMessage(params))
		var r struct {
			ModelID string `json:"model_id"`
		}
		if code != dredge.CodeOK || json.Unmarshal(body, &r) != nil {
			t.Fatalf("load_model(%s): %s", params, body)
		}
		return r.ModelID
	}
	wave := load(`{"model_type":"quasimoto_1d"}`)
	mlp := load(`{"model_type":"string_theory","config":{"dimensions":3,"hidden_size":4}}`)
	return []struct{ op, params, field string }{
		{"unified_inference", `{"quasimoto_coords":[0.5,` + v + `]}`, "quasimoto_coords[1]"},
		{"unified_inference", `{"string_modes":[` + v + `,2]}`, "string_modes[0]"},
		{"inference", `{"model_id":"` + wave + `","inputs":{"t":[0,0,0,0],"x":[1,2,3,` + v + `]}}`, "inputs.x[3]"},
		{"inference", `{"model_id":"` + mlp + `","inputs":{"x":[[1,2,3],[4,5,6],[7,` + v + `,9]]}}`, "inputs.x[2][1]"},
		{"load_model", `{"model_type":"quasimoto_1d","config":{"parameters":{"A":[` + v + `]}}}`, "config.parameters.A[0]"},
	}
}

// TestBadNumbers checks that a bad element in any numeric array gets a 400
// whose JSON names the field and the index over the REST route, the same
// JSON over the legacy envelope of POST /mcp (which answers failures with
// 200, as the original did), and that no model is added.
func TestBadNumbers(t *testing.T) {
	h := newTestHandler(t, Config{})
	ctx := context.Background()
	for _, v := range []string{`null`, `"1"`, `true`, `1e400`} {
		cases := badNumberCases(t, h.eng, v)
		before, err := h.eng.ListModels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			envelope := `{"operation":"` + c.op + `","params":` + c.params + `}`
			for _, req := range []struct {
				target, body string
				status       int
			}{
				{"/v1/ops/" + c.op, c.params, http.StatusBadRequest},
				{"/mcp", envelope, http.StatusOK},
			} {
				w := do(t, h, "POST", req.target, strings.NewReader(req.body), "Content-Type", "application/json")
				rep := decodeReply(t, w)
				if w.Code != req.status || rep.Success || rep.Code != string(dredge.CodeInvalidArgument) {
					t.Errorf("POST %s %s: %d %s, want %d invalid_argument", req.target, req.body, w.Code, w.Body, req.status)
					continue
				}
				if rep.Field != c.field || !strings.Contains(rep.Error, c.field) {
					t.Errorf("POST %s %s: field %q error %q, want field %q", req.target, req.body, rep.Field, rep.Error, c.field)
				}
			}
		}
		after, err := h.eng.ListModels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Models) != len(before.Models) {
			t.Errorf("%s: %d models before the bad requests, %d after", v, len(before.Models), len(after.Models))
		}
	}
}
