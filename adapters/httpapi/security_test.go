package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	keyA = "s3cret-key-A"
	keyB = "another-key-B"
)

func TestAuth(t *testing.T) {
	var logs bytes.Buffer
	h := newTestHandler(t, Config{AuthEnabled: true, APIKeys: []string{keyA, keyB}, Logger: newLogger(&logs)})
	op := `{"max_modes":2}`
	tests := []struct {
		name, method, target string
		hdr                  []string
		status               int
	}{
		{"no key", "POST", "/v1/ops/string_spectrum", nil, 401},
		{"wrong bearer", "POST", "/v1/ops/string_spectrum", []string{"Authorization", "Bearer nope"}, 401},
		{"wrong X-API-Key", "POST", "/v1/ops/string_spectrum", []string{"X-API-Key", "nope"}, 401},
		{"prefix of a key", "POST", "/v1/ops/string_spectrum", []string{"X-API-Key", keyA[:5]}, 401},
		{"key with a suffix", "POST", "/v1/ops/string_spectrum", []string{"X-API-Key", keyA + "x"}, 401},
		{"basic auth", "POST", "/v1/ops/string_spectrum", []string{"Authorization", "Basic " + keyA}, 401},
		{"bearer", "POST", "/v1/ops/string_spectrum", []string{"Authorization", "Bearer " + keyA}, 200},
		{"bearer lower case", "POST", "/v1/ops/string_spectrum", []string{"Authorization", "bearer " + keyB}, 200},
		{"X-API-Key", "POST", "/v1/ops/string_spectrum", []string{"X-API-Key", keyB}, 200},
		{"basic auth and X-API-Key", "POST", "/v1/ops/string_spectrum", []string{"Authorization", "Basic x", "X-API-Key", keyA}, 200},
		{"legacy without key", "POST", "/mcp", nil, 401},
		{"lift without key", "POST", "/lift", nil, 401},
		{"metrics without key", "GET", "/metrics", nil, 401},
		{"index without key", "GET", "/", nil, 401},
		{"unknown path without key", "GET", "/nope", nil, 401},
		{"metrics with key", "GET", "/metrics", []string{"X-API-Key", keyA}, 200},
		{"health without key", "GET", "/health", nil, 200},
		{"ready without key", "GET", "/ready", nil, 200},
		{"health with a wrong key", "GET", "/health", []string{"X-API-Key", "nope"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, h, tt.method, tt.target, strings.NewReader(op), tt.hdr...)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status == 401 {
				if rep := decodeReply(t, w); rep.Code != "unauthenticated" || rep.Success {
					t.Errorf("answer %+v", rep)
				}
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
		})
	}
	for _, k := range []string{keyA, keyB} {
		if strings.Contains(logs.String(), k) {
			t.Fatalf("a key appears in the logs:\n%s", logs.String())
		}
	}
}

func TestRateLimit(t *testing.T) {
	clk := newClock()
	h := newTestHandler(t, Config{RateLimitEnabled: true, RateLimitRequests: 3, RateLimitWindow: 30 * time.Second, now: clk.now})
	get := func(remote string) *http.Response {
		r := httptest.NewRequest("GET", "/v1/ops", nil)
		r.RemoteAddr = remote
		return serve(h, r)
	}
	for i := range 3 {
		if res := get("192.0.2.1:1000"); res.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, res.StatusCode)
		}
	}
	res := get("192.0.2.1:1001") // same address, another port
	if res.StatusCode != 429 {
		t.Fatalf("past the limit: %d", res.StatusCode)
	}
	// One token takes 10 s to come back.
	if ra := res.Header.Get("Retry-After"); ra != "10" {
		t.Errorf("Retry-After %q, want 10", ra)
	}
	if res := get("192.0.2.2:1000"); res.StatusCode != 200 {
		t.Errorf("another address: %d", res.StatusCode)
	}
	if res := get("[2001:db8::1]:80"); res.StatusCode != 200 {
		t.Errorf("an IPv6 address: %d", res.StatusCode)
	}
	for _, p := range []string{"/health", "/ready"} {
		r := httptest.NewRequest("GET", p, nil)
		r.RemoteAddr = "192.0.2.1:1000"
		if res := serve(h, r); res.StatusCode != 200 {
			t.Errorf("%s past the limit: %d", p, res.StatusCode)
		}
	}
	clk.advance(9 * time.Second)
	if res := get("192.0.2.1:1000"); res.StatusCode != 429 || res.Header.Get("Retry-After") != "1" {
		t.Errorf("after 9 s: %d Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	clk.advance(time.Second)
	if res := get("192.0.2.1:1000"); res.StatusCode != 200 {
		t.Errorf("after 10 s: %d", res.StatusCode)
	}
	if res := get("192.0.2.1:1000"); res.StatusCode != 429 {
		t.Errorf("the refilled token was spent: %d", res.StatusCode)
	}
}

// TestRateLimitPerTenant: the keys of one tenant share its bucket (here
// the default tenant's, API_KEY's and the file's key alone), whatever
// address they come from; another tenant has its own.
func TestRateLimitPerTenant(t *testing.T) {
	clk := newClock()
	keys, err := ParseKeys(keyB + "\nacme kc\n")
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHandler(t, Config{AuthEnabled: true, APIKeys: []string{keyA}, Keys: keys,
		RateLimitEnabled: true, RateLimitRequests: 2, RateLimitWindow: time.Minute, now: clk.now})
	call := func(key, remote string) int {
		r := httptest.NewRequest("GET", "/v1/ops", nil)
		r.RemoteAddr = remote
		if key != "" {
			r.Header.Set("X-API-Key", key)
		}
		return serve(h, r).StatusCode
	}
	// The default tenant's budget is shared across its keys and addresses.
	if c1, c2, c3 := call(keyA, "192.0.2.1:1"), call(keyB, "192.0.2.2:1"), call(keyA, "192.0.2.3:1"); c1 != 200 || c2 != 200 || c3 != 429 {
		t.Fatalf("default tenant: %d %d %d", c1, c2, c3)
	}
	if c := call("kc", "192.0.2.1:1"); c != 200 {
		t.Errorf("tenant acme from the default tenant's address: %d", c)
	}
	// Failed attempts count against the address: 2 × 401, then 429.
	if c1, c2, c3 := call("guess1", "198.51.100.1:1"), call("guess2", "198.51.100.1:1"), call("guess3", "198.51.100.1:1"); c1 != 401 || c2 != 401 || c3 != 429 {
		t.Errorf("guessing keys: %d %d %d", c1, c2, c3)
	}
	// … but not against the keys used from that address.
	if c := call("kc", "198.51.100.1:1"); c != 200 {
		t.Errorf("a valid key from a guessing address: %d", c)
	}
}

func TestTrustProxy(t *testing.T) {
	for _, trust := range []bool{false, true} {
		clk := newClock()
		h := newTestHandler(t, Config{RateLimitEnabled: true, RateLimitRequests: 1, TrustProxy: trust, now: clk.now})
		codes := make([]int, 0, 2)
		for _, xff := range []string{"203.0.113.1, 10.0.0.1", "203.0.113.1, 10.0.0.2"} {
			r := httptest.NewRequest("GET", "/v1/ops", nil)
			r.RemoteAddr = "10.0.0.100:5000" // the proxy
			r.Header.Set("X-Forwarded-For", xff)
			codes = append(codes, serve(h, r).StatusCode)
		}
		// Trusted: the proxy saw two clients (10.0.0.1, 10.0.0.2); the
		// spoofable first entry is ignored. Untrusted: one connection address.
		want := []int{200, 429}
		if trust {
			want = []int{200, 200}
		}
		if codes[0] != want[0] || codes[1] != want[1] {
			t.Errorf("TrustProxy=%v: %v, want %v", trust, codes, want)
		}
	}
}

// TestAcceptance is the scenario: AUTH_ENABLED=true API_KEY=…
// RATE_LIMIT_ENABLED=true RATE_LIMIT_REQUESTS=20.
func TestAcceptance(t *testing.T) {
	env := map[string]string{"AUTH_ENABLED": "true", "API_KEY": keyA, "RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_REQUESTS": "20"}
	cfg, err := configFromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	cfg.now = clk.now
	h := newTestHandler(t, cfg)
	legacy := `{"operation":"unified_inference","params":{"dredge_insight":"acceptance"}}`
	steps := []struct {
		name   string
		body   []byte
		hdr    []string
		status int
		code   string
	}{
		{"no key", []byte(legacy), nil, 401, "unauthenticated"},
		{"wrong key", []byte(legacy), []string{"Authorization", "Bearer wrong"}, 401, "unauthenticated"},
		{"bearer", []byte(legacy), []string{"Authorization", "Bearer " + keyA}, 200, ""},
		{"X-API-Key", []byte(legacy), []string{"X-API-Key", keyA}, 200, ""},
		{"20 MB body", bytes.Repeat([]byte(" "), 20<<20), []string{"X-API-Key", keyA}, 413, "invalid_argument"},
		{"truncated JSON", []byte(legacy[:30]), []string{"X-API-Key", keyA}, 400, "invalid_argument"},
	}
	for _, s := range steps {
		w := do(t, h, "POST", "/mcp", bytes.NewReader(s.body), s.hdr...)
		if w.Code != s.status {
			t.Fatalf("%s: status %d, want %d: %.200s", s.name, w.Code, s.status, w.Body)
		}
		rep := decodeReply(t, w)
		if s.code == "" && !rep.Success || s.code != "" && rep.Code != s.code {
			t.Fatalf("%s: %+v", s.name, rep)
		}
	}
	// 4 tokens spent (the 401s count against the address, not the key).
	spent := 4
	var last int
	for i := spent; i <= 20; i++ {
		w := do(t, h, "POST", "/v1/ops/lift", strings.NewReader(`{"insight_text":"n`+strconv.Itoa(i)+`"}`), "X-API-Key", keyA)
		if last = w.Code; last == 429 {
			if ra, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || ra < 1 {
				t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
			}
			if decodeReply(t, w).Code != "rate_limited" {
				t.Errorf("429 answer %s", w.Body)
			}
			break
		}
	}
	if last != 429 {
		t.Fatal("no 429 past the limit")
	}
	if w := do(t, h, "GET", "/health", nil); w.Code != 200 || decodeReply(t, w).Status != "healthy" {
		t.Fatalf("health after all that: %d %s", w.Code, w.Body)
	}
}

func TestAccessLog(t *testing.T) {
	var logs bytes.Buffer
	h := newTestHandler(t, Config{Logger: newLogger(&logs)})
	r := httptest.NewRequest("POST", "/v1/ops/string_spectrum?token=hidden", strings.NewReader(`{"max_modes":2}`))
	r.RemoteAddr = "192.0.2.9:4242"
	r.Header.Set("Authorization", "Bearer hidden")
	res := serve(h, r)
	line := logs.String()
	for _, want := range []string{`"msg":"http request"`, `"method":"POST"`, `"path":"/v1/ops/string_spectrum"`,
		`"status":200`, `"bytes":` + res.Header.Get("Content-Length"), `"duration":`, `"remote":"192.0.2.9"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log %s lacks %s", line, want)
		}
	}
	if strings.Contains(line, "hidden") {
		t.Errorf("log shows a header or the query: %s", line)
	}
}
