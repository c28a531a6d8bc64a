//go:build unix

package faulttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/internal/testredis"
)

// TestSharedModels runs two service instances and a worker on one Redis
// with MODEL_STORE=redis: a model loaded through one instance answers
// inference through the other and through a job the worker runs; trained
// through one, its new parameters answer everywhere. Then a single
// instance with MODEL_STORE_DIR is SIGKILLed after training a model, and
// answers the same inference once restarted.
func TestSharedModels(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the test builds and runs two services, a worker and redis-server")
	}
	bin := buildBinaries(t, "./examples/http-service", "./examples/worker")
	srv := testredis.Start(t, 0)
	env := []string{"REDIS_URL=" + srv.URL(), "QUEUE_BACKEND=redis", "MODEL_STORE=redis", "CACHE_BACKEND=memory", "LOG_LEVEL=warn"}
	a := startService(t, bin, "service-a", append(env, "NUM_WORKERS=0"))
	b := startService(t, bin, "service-b", append(env, "NUM_WORKERS=0"))
	startWorker(t, bin, "worker", env)

	var loaded struct {
		ModelID string `json:"model_id"`
	}
	a.call(t, "load_model", `{"model_type":"quasimoto_ensemble","config":{"n_waves":4,"seed":7}}`, &loaded)
	if loaded.ModelID == "" {
		t.Fatal("load_model answered no model_id")
	}
	infer := fmt.Sprintf(`{"model_id":%q,"inputs":{"x":[0.1,0.2,0.3],"t":[0,0.5,1]}}`, loaded.ModelID)
	output := func(c *client) []float64 {
		t.Helper()
		var r struct {
			Output []float64 `json:"output"`
		}
		c.call(t, "inference", infer, &r)
		return r.Output
	}
	before := output(a.client)
	if len(before) != 3 {
		t.Fatalf("inference through a: %v", before)
	}
	if got := output(b.client); !reflect.DeepEqual(got, before) {
		t.Errorf("inference through b %v, through a %v", got, before)
	}
	if got := b.job(t, "inference", infer); !reflect.DeepEqual(got, before) {
		t.Errorf("inference by the worker %v, through a %v", got, before)
	}

	// Trained through a: b and the worker answer with the new parameters.
	a.call(t, "benchmark", fmt.Sprintf(`{"model_id":%q,"config":{"epochs":30,"learning_rate":0.05}}`, loaded.ModelID), nil)
	after := output(a.client)
	if reflect.DeepEqual(after, before) {
		t.Fatalf("training changed nothing: %v", after)
	}
	if got := output(b.client); !reflect.DeepEqual(got, after) {
		t.Errorf("after training through a: b answers %v, a %v (before %v)", got, after, before)
	}
	if got := b.job(t, "inference", infer); !reflect.DeepEqual(got, after) {
		t.Errorf("after training through a: the worker answers %v, a %v", got, after)
	}
	// And trained by the worker, seen by both instances.
	b.job(t, "benchmark", fmt.Sprintf(`{"model_id":%q,"config":{"epochs":30,"learning_rate":0.05}}`, loaded.ModelID))
	third := output(b.client)
	if reflect.DeepEqual(third, after) {
		t.Fatalf("training by the worker changed nothing for b: %v", third)
	}
	if got := output(a.client); !reflect.DeepEqual(got, third) {
		t.Errorf("after training by the worker: a answers %v, b %v", got, third)
	}

	// One node on a directory: a model trained before a SIGKILL answers the
	// same inference after the restart.
	dir := t.TempDir()
	denv := []string{"MODEL_STORE_DIR=" + dir, "CACHE_BACKEND=memory", "LOG_LEVEL=warn"}
	c := startService(t, bin, "service-dir", denv)
	c.call(t, "load_model", `{"model_type":"quasimoto_ensemble","config":{"n_waves":4,"seed":3}}`, &loaded)
	c.call(t, "benchmark", fmt.Sprintf(`{"model_id":%q,"config":{"epochs":30,"learning_rate":0.05}}`, loaded.ModelID), nil)
	infer = fmt.Sprintf(`{"model_id":%q,"inputs":{"x":[0.1,0.2,0.3],"t":[0,0.5,1]}}`, loaded.ModelID)
	trained := output(c.client)
	c.proc.kill()
	c = startService(t, bin, "service-dir-restarted", denv)
	if got := output(c.client); !reflect.DeepEqual(got, trained) {
		t.Errorf("after SIGKILL and restart on MODEL_STORE_DIR: %v, before %v", got, trained)
	}
}

// service is a running examples/http-service.
type service struct {
	*client
	proc *proc
}

func startService(t *testing.T, bin, name string, env []string) service {
	t.Helper()
	port := testredis.FreePort(t)
	p := start(t, name, filepath.Join(bin, "http-service"), []string{"-addr", "127.0.0.1:" + strconv.Itoa(port)}, env)
	c := &client{base: "http://127.0.0.1:" + strconv.Itoa(port), hc: &http.Client{Timeout: 30 * time.Second}}
	c.waitOK(t, "/ready")
	return service{client: c, proc: p}
}

// call runs an operation (POST /v1/ops/{op}) and decodes its answer into
// out; any answer but 200 fails the test.
func (c *client) call(t *testing.T, op, params string, out any) {
	t.Helper()
	code, body, _, err := c.post("/v1/ops/"+op, params)
	if err != nil || code != http.StatusOK {
		t.Fatalf("%s %s: %d %s %v", op, params, code, tail(body, 512), err)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s: %v in %s", op, err, tail(body, 512))
		}
	}
}

// job runs an operation as a job (the worker runs it) and returns the
// output of its result (an inference's; nil for others).
func (c *client) job(t *testing.T, op, params string) []float64 {
	t.Helper()
	code, body, _, err := c.post("/v1/jobs", fmt.Sprintf(`{"operation":%q,"params":%s}`, op, params))
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("job %s: %d %s %v", op, code, tail(body, 512), err)
	}
	var sub struct {
		ID string `json:"job_id"`
	}
	if err := json.Unmarshal(body, &sub); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		s, err := c.status(sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch s.Status {
		case "completed":
			var r struct {
				Output []float64 `json:"output"`
			}
			if err := json.Unmarshal(s.Result, &r); err != nil {
				t.Fatalf("job %s: %v in %s", op, err, s.Result)
			}
			return r.Output
		case "failed", "canceled":
			t.Fatalf("job %s %s: %+v", op, s.Status, s)
		}
	}
	t.Fatalf("job %s did not finish in 30s", op)
	return nil
}
