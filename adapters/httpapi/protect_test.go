package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge"
)

// TestProtect: a handler behind Protect takes the service's keys: without
// a valid one, 401 with a Bearer challenge and a JSON error that does not
// repeat the key; with one, the handler runs with the key's tenant on its
// context. The probes pass without a key, and the access log names no key.
func TestProtect(t *testing.T) {
	keys, err := ParseKeys("acme ka\nglobex kg\n")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("tenant=" + dredge.TenantOf(r.Context())))
	})
	h, err := Protect(next, Config{AuthEnabled: true, APIKeys: []string{keyA}, Keys: keys, Logger: newLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		hdr  []string
		code int
		body string
	}{
		{"/mcp", nil, 401, ""},
		{"/mcp", []string{"Authorization", "Bearer not-a-key"}, 401, ""},
		{"/", []string{"X-API-Key", "not-a-key"}, 401, ""},
		{"/mcp", []string{"Authorization", "Bearer ka"}, 200, "tenant=acme"},
		{"/mcp", []string{"X-API-Key", "kg"}, 200, "tenant=globex"},
		{"/", []string{"Authorization", "Bearer " + keyA}, 200, "tenant="},
		{"/health", nil, 200, "tenant="},
	} {
		w := do(t, h, "POST", tc.path, strings.NewReader("{}"), tc.hdr...)
		if w.Code != tc.code {
			t.Errorf("%s %v: %d %s, want %d", tc.path, tc.hdr, w.Code, w.Body, tc.code)
			continue
		}
		if tc.code == 200 && w.Body.String() != tc.body {
			t.Errorf("%s %v: %q, want %q", tc.path, tc.hdr, w.Body, tc.body)
		}
		if tc.code == 401 {
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") || !strings.Contains(w.Body.String(), `"code":"unauthenticated"`) {
				t.Errorf("%s %v: 401 %q %s, want a Bearer challenge and the unauthenticated code", tc.path, tc.hdr, w.Header().Get("WWW-Authenticate"), w.Body)
			}
			if strings.Contains(w.Body.String(), "not-a-key") {
				t.Errorf("%s: the 401 repeats the key: %s", tc.path, w.Body)
			}
		}
	}
	for _, key := range []string{"not-a-key", `"ka"`, `"kg"`, keyA} {
		if strings.Contains(logs.String(), key) {
			t.Errorf("the access log holds %s:\n%s", key, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"status":401`) {
		t.Errorf("no access log records: %s", logs.String())
	}
}

func TestProtectBadConfig(t *testing.T) {
	next := http.NotFoundHandler()
	for _, tc := range []struct {
		name string
		next http.Handler
		cfg  Config
	}{
		{"no handler", nil, Config{}},
		{"auth without keys", next, Config{AuthEnabled: true}},
		{"negative rate", next, Config{RateLimitEnabled: true, RateLimitRequests: -1}},
	} {
		if _, err := Protect(tc.next, tc.cfg); !errors.Is(err, dredge.ErrInvalidArgument) {
			t.Errorf("%s: %v, want a configuration error", tc.name, err)
		}
	}
}
