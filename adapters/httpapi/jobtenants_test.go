package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/workers"
)

// tenantJobsHandler serves a queue q to three keys: ka of tenant acme, kg
// of tenant globex and kd (API_KEY) of the default tenant.
func tenantJobsHandler(t *testing.T, q workers.Queue) *handler {
	t.Helper()
	k, err := ParseKeys("acme ka\nglobex kg\n")
	if err != nil {
		t.Fatal(err)
	}
	return newJobsHandler(t, Config{AuthEnabled: true, APIKeys: []string{"kd"}, Keys: k}, q, 0)
}

// TestJobsOfAnotherTenant: over HTTP a job belongs to the tenant of the
// key that submitted it. GET and DELETE /v1/jobs/{id} of another tenant's
// job, pending or finished, answer byte for byte what they answer for a
// well-formed id that never existed, and leave the job as it was; an
// Idempotency-Key names a job of the caller's tenant only.
func TestJobsOfAnotherTenant(t *testing.T) {
	q := workers.NewMemory(workers.MemoryConfig{})
	h := tenantJobsHandler(t, q)
	auth := func(key string) []string { return []string{"Authorization", "Bearer " + key} }
	submitted := map[string]string{} // job id → its owner's key
	for _, key := range []string{"ka", "kg", "kd"} {
		submitted[submit(t, h, `{"operation":"lift","params":{"insight_text":"x"}}`, auth(key)...)] = key
	}
	const unknown = "0123456789abcdef0123456789abcdef"
	same := func(phase string) {
		t.Helper()
		for id, owner := range submitted {
			for _, key := range []string{"ka", "kg", "kd"} {
				if key == owner {
					continue
				}
				for _, method := range []string{"GET", "DELETE"} {
					got := do(t, h, method, "/v1/jobs/"+id, nil, auth(key)...)
					want := do(t, h, method, "/v1/jobs/"+unknown, nil, auth(key)...)
					if got.Code != 404 || got.Code != want.Code || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) ||
						!maps.EqualFunc(got.Header(), want.Header(), func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }) {
						t.Errorf("%s: %s of another tenant's job: %d %v %s; of an unknown id: %d %v %s", phase, method,
							got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
					}
				}
			}
			if st := getState(t, do(t, h, "GET", "/v1/jobs/"+id, nil, auth(owner)...)); st.ID != id || (phase == "pending" && st.Status != "pending") {
				t.Errorf("%s: its owner's GET after the others': %+v", phase, st)
			}
		}
	}
	same("pending")
	// Finished: a worker runs every tenant's job.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range submitted {
		j, err := q.Claim(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Ack(ctx, j.ID, json.RawMessage(`{"success":true}`)); err != nil {
			t.Fatal(err)
		}
	}
	same("completed")
	for id, owner := range submitted {
		if w := do(t, h, "DELETE", "/v1/jobs/"+id, nil, auth(owner)...); w.Code != 409 {
			t.Errorf("its owner's DELETE of its completed job: %d %s, want 409", w.Code, w.Body)
		}
	}

	// One Idempotency-Key, three tenants: three jobs; a repeat replays the
	// caller's own.
	keyed := map[string]string{}
	for _, key := range []string{"ka", "kg", "kd"} {
		id := submit(t, h, `{"operation":"lift","params":{"insight_text":"x"}}`, append(auth(key), "Idempotency-Key", "order-42")...)
		for other, oid := range keyed {
			if oid == id {
				t.Fatalf("keys %s and %s of two tenants share job %s through one Idempotency-Key", key, other, id)
			}
		}
		keyed[key] = id
	}
	for key, id := range keyed {
		w := do(t, h, "POST", "/v1/jobs", strings.NewReader(`{"operation":"lift","params":{"insight_text":"x"}}`), append(auth(key), "Idempotency-Key", "order-42")...)
		if st := getState(t, w); st.ID != id || w.Header().Get("Idempotent-Replayed") != "true" {
			t.Errorf("key %s's repeat: %d %+v, want its own job %s replayed", key, w.Code, st, id)
		}
	}
}

// TestJobsTenantLimit: past QUEUE_TENANT_MAX_JOBS queued jobs a tenant's
// submission answers 429 resource_exhausted naming the limit; other
// tenants, and the tenant once a job has ended, are served.
func TestJobsTenantLimit(t *testing.T) {
	q := workers.NewMemory(workers.MemoryConfig{MaxTenantJobs: 1})
	h := tenantJobsHandler(t, q)
	const body = `{"operation":"lift","params":{"insight_text":"x"}}`
	first := submit(t, h, body, "Authorization", "Bearer ka")
	w := do(t, h, "POST", "/v1/jobs", strings.NewReader(body), "Authorization", "Bearer ka")
	rep := decodeReply(t, w)
	if w.Code != 429 || rep.Code != "resource_exhausted" || !strings.Contains(rep.Error, "tenant limit reached: QUEUE_TENANT_MAX_JOBS=1 queued jobs") {
		t.Errorf("acme's second job: %d %s, want 429 resource_exhausted naming the limit", w.Code, w.Body)
	}
	w = do(t, h, "POST", "/v1/jobs", strings.NewReader(body), "Authorization", "Bearer ka", "Idempotency-Key", "k")
	if w.Code != 429 {
		t.Errorf("acme's second job with an Idempotency-Key: %d %s, want 429", w.Code, w.Body)
	}
	submit(t, h, body, "Authorization", "Bearer kg")
	submit(t, h, body, "Authorization", "Bearer kd")
	if w := do(t, h, "DELETE", "/v1/jobs/"+first, nil, "Authorization", "Bearer ka"); w.Code != 200 {
		t.Fatalf("cancel: %d %s", w.Code, w.Body)
	}
	submit(t, h, body, "Authorization", "Bearer ka")
}

// A request without a tenant of its own (authentication off) is the
// default tenant's: it cannot see a job a tenant's key submitted through
// another handler on the same queue.
func TestJobsDefaultTenantWithoutAuth(t *testing.T) {
	q := workers.NewMemory(workers.MemoryConfig{})
	id := submit(t, tenantJobsHandler(t, q), `{"operation":"lift","params":{}}`, "Authorization", "Bearer ka")
	open := newJobsHandler(t, Config{}, q, 0)
	if w := do(t, open, "GET", "/v1/jobs/"+id, nil); w.Code != 404 {
		t.Errorf("GET of acme's job without a key: %d %s, want 404", w.Code, w.Body)
	}
	if w := do(t, open, "GET", "/v1/jobs/"+submit(t, open, `{"operation":"lift","params":{}}`), nil); w.Code != 200 {
		t.Errorf("GET of its own job without a key: %d %s", w.Code, w.Body)
	}
}
