package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/promcheck"
)

// tenantCall sends GET /v1/ops with key from remote and returns the
// status, the Retry-After header and the error message.
func tenantCall(t *testing.T, h *handler, key, remote string) (status int, retry, msg string) {
	t.Helper()
	r := httptest.NewRequest("GET", "/v1/ops", nil)
	r.RemoteAddr = remote
	r.Header.Set("Authorization", "Bearer "+key)
	res := serve(h, r)
	body, _ := io.ReadAll(res.Body)
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if res.StatusCode != 200 {
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("status %d, body %q: %v", res.StatusCode, body, err)
		}
		if res.StatusCode == 429 && e.Code != string(dredge.CodeRateLimited) {
			t.Errorf("429 with code %q", e.Code)
		}
	}
	return res.StatusCode, res.Header.Get("Retry-After"), e.Error
}

// TestTenantQuota: acme's quota is shared by its two keys and addresses;
// globex, without a quota, has RateLimitRequests and is not touched by
// acme's exhaustion; each refusal names its limit, never the key.
func TestTenantQuota(t *testing.T) {
	clk := newClock()
	keys, err := ParseKeys("acme " + secret + " 3\nacme ka2\nglobex kg\n")
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHandler(t, Config{AuthEnabled: true, Keys: keys,
		RateLimitEnabled: true, RateLimitRequests: 5, RateLimitWindow: time.Minute, now: clk.now})

	for i, key := range []string{secret, "ka2", secret} {
		if c, _, msg := tenantCall(t, h, key, "192.0.2."+string(rune('1'+i))+":1"); c != 200 {
			t.Fatalf("acme request %d: %d %s", i+1, c, msg)
		}
	}
	c, retry, msg := tenantCall(t, h, "ka2", "192.0.2.9:1")
	if c != 429 || retry != "20" {
		t.Errorf("acme past its quota: %d, Retry-After %q; want 429, 20 (one token per 20 s)", c, retry)
	}
	if want := "tenant quota of 3 requests per 1m0s exceeded"; !strings.Contains(msg, want) {
		t.Errorf("message %q does not name %q", msg, want)
	}
	if strings.Contains(msg, secret) || strings.Contains(msg, "ka2") {
		t.Errorf("message %q shows a key", msg)
	}
	for i := range 5 {
		if c, _, msg := tenantCall(t, h, "kg", "192.0.2.1:1"); c != 200 {
			t.Fatalf("globex request %d while acme is exhausted: %d %s", i+1, c, msg)
		}
	}
	c, _, msg = tenantCall(t, h, "kg", "192.0.2.1:1")
	if want := "rate limit of 5 requests per 1m0s exceeded"; c != 429 || !strings.Contains(msg, want) {
		t.Errorf("globex past RateLimitRequests: %d %q; want 429 naming %q", c, msg, want)
	}
	clk.advance(20 * time.Second) // one token for acme, four for globex
	if c, _, _ := tenantCall(t, h, secret, "192.0.2.1:1"); c != 200 {
		t.Errorf("acme after refill: %d", c)
	}
	if c, _, _ := tenantCall(t, h, secret, "192.0.2.1:1"); c != 429 {
		t.Errorf("acme spent its refilled token twice: %d", c)
	}
}

// TestTenantQuotaReload: a reload that changes a quota applies to the
// next request, counting the requests already made; a tenant that loses
// its quota falls back to RateLimitRequests.
func TestTenantQuotaReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("acme ka 2\n")
	keys, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHandler(t, Config{AuthEnabled: true, Keys: keys,
		RateLimitEnabled: true, RateLimitRequests: 10, RateLimitWindow: time.Hour, now: newClock().now})
	run := func(n int) (ok int, msg string) {
		for range n {
			c, _, m := tenantCall(t, h, "ka", "192.0.2.1:1")
			if c == 200 {
				ok++
			} else {
				msg = m
			}
		}
		return ok, msg
	}
	reload := func(text string) {
		t.Helper()
		write(text)
		if err := keys.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	if ok, msg := run(3); ok != 2 || !strings.Contains(msg, "tenant quota of 2 ") {
		t.Fatalf("quota 2: %d allowed, %q", ok, msg)
	}
	reload("acme ka 5\n")
	if ok, msg := run(4); ok != 3 || !strings.Contains(msg, "tenant quota of 5 ") {
		t.Errorf("raised to 5 after 2 used: %d allowed, %q; want 3", ok, msg)
	}
	reload("acme ka 1\n")
	if ok, msg := run(1); ok != 0 || !strings.Contains(msg, "tenant quota of 1 ") {
		t.Errorf("lowered to 1 after 5 used: %d allowed, %q; want 0", ok, msg)
	}
	reload("acme ka\n") // no quota: RateLimitRequests, 10, of which 5 are used
	if ok, msg := run(6); ok != 5 || !strings.Contains(msg, "rate limit of 10 ") {
		t.Errorf("quota removed: %d allowed, %q; want 5", ok, msg)
	}
}

func TestKeysTenantQuotas(t *testing.T) {
	k, err := ParseKeys("# acme's quota on its second key only\nacme ka1\nacme ka2 7\nacme ka3 7\nglobex kg\nkd\n")
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"ka1": 7, "ka2": 7, "ka3": 7, "kg": 0, "kd": 0} {
		if _, q, ok := k.Lookup(key); !ok || q != want {
			t.Errorf("Lookup(%s) quota %d, want %d", key, q, want)
		}
	}
	if got := strings.Join(k.Tenants(), " "); got != "acme globex" {
		t.Errorf("Tenants() = %q, want \"acme globex\"", got)
	}
	k, err = ParseKeys(`[{"key": "kd", "quota": 4}, {"key": "kd2"}]`)
	if err != nil {
		t.Fatal(err)
	}
	if _, q, _ := k.Lookup("kd2"); q != 4 || len(k.Tenants()) != 0 {
		t.Errorf("default tenant's quota %d, tenants %v; want 4 and none", q, k.Tenants())
	}
	_, err = ParseKeys("acme ka1 5\nglobex kg 9\n\nacme " + secret + " 6\n")
	if err == nil || !errors.Is(err, dredge.ErrInvalidArgument) {
		t.Fatalf("two quotas for one tenant: %v", err)
	}
	for _, want := range []string{"line 4", "quota 6", `"acme"`, "quota 5 on line 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("%q shows the key", err)
	}
}

// TestTenantMetrics: the operations of two tenants are counted apart on
// /metrics; the default tenant and names that no keys file gives (here
// sent in a header and a body) carry no label; a reload changes the set;
// no key ever appears.
func TestTenantMetrics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte("acme "+secret+" 100\nglobex kg\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHandler(t, Config{AuthEnabled: true, APIKeys: []string{keyA}, Keys: keys, RateLimitEnabled: true})
	infer := func(key string) {
		t.Helper()
		r := httptest.NewRequest("POST", "/v1/ops/unified_inference",
			strings.NewReader(`{"dredge_insight":"mallory","quasimoto_coords":[0.3],"tenant":"mallory"}`))
		r.Header.Set("Authorization", "Bearer "+key)
		r.Header.Set("X-Tenant", "mallory")
		if res := serve(h, r); res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	scrape := func() string {
		t.Helper()
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.Header.Set("X-API-Key", keyA)
		res := serve(h, r)
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("/metrics: %d", res.StatusCode)
		}
		return string(b)
	}
	for _, key := range []string{secret, secret, "kg", keyA} {
		infer(key)
	}
	body := scrape()
	for _, want := range []string{
		`dredge_operations_total{operation="unified_inference",outcome="success",tenant="acme"} 2`,
		`dredge_operations_total{operation="unified_inference",outcome="success",tenant="globex"} 1`,
		`dredge_operations_total{operation="unified_inference",outcome="success"} 1`,
		`dredge_tenant_cache_hits_total{tenant="acme"} 1`,
		`dredge_tenant_cache_hits_total{tenant="globex"} 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// globex leaves, initech comes: from the next request on.
	if err := os.WriteFile(path, []byte("acme "+secret+"\ninitech ki\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := keys.Reload(); err != nil {
		t.Fatal(err)
	}
	infer("ki")
	body = scrape()
	if want := `dredge_operations_total{operation="unified_inference",outcome="success",tenant="initech"} 1`; !strings.Contains(body, want+"\n") {
		t.Errorf("/metrics lacks %s", want)
	}
	if got := strings.Join(h.eng.Monitor().Tenants(), " "); got != "acme initech" {
		t.Errorf("monitor tenants after reload: %q", got)
	}
	for _, bad := range []string{"mallory", secret, "TOPSECRET", keyA, `"kg"`, `"ki"`} {
		if strings.Contains(body, bad) {
			t.Errorf("/metrics contains %q", bad)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
	promcheck.Metrics(t, body)
}
