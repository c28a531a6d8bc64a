package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
)

// The Engine's resource limits as HTTP: a spent memory budget is 429
// resource_exhausted; a heavy call past its deadline 503 with Retry-After.
func TestResourceLimitStatuses(t *testing.T) {
	h := newTestHandler(t, Config{}, dredge.WithTimeouts(200*time.Millisecond, 200*time.Millisecond), dredge.WithModelMemoryLimit(2<<20))
	post := func(path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		return rec
	}
	// 40,000 epochs of the MLP cannot end within 200 ms.
	rec := post("/v1/ops/benchmark", `{"model_type":"string_theory","config":{"epochs":40000}}`)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), `"code":"unavailable"`) {
		t.Errorf("training past the deadline: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	const load = `{"model_type":"string_theory","config":{"hidden_size":128,"num_layers":3}}`
	var id string
	for range 20 {
		if rec = post("/v1/ops/load_model", load); rec.Code != http.StatusOK {
			break
		}
		var r struct {
			ModelID string `json:"model_id"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &r)
		id = r.ModelID
	}
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"code":"resource_exhausted"`) {
		t.Errorf("load past the budget: %d %s", rec.Code, rec.Body)
	}
	if id == "" {
		t.Fatal("no model loaded")
	}
	if rec = post("/v1/ops/inference", `{"model_id":"`+id+`","inputs":{"x":[[1,2,3,4,5,6,7,8,9,10]]}}`); rec.Code != http.StatusOK {
		t.Errorf("a loaded model after the refusals: %d %s", rec.Code, rec.Body)
	}
}
