package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge"
)

// secret is a key that no error or log may contain.
const secret = "k-TOPSECRET-42"

func TestParseKeys(t *testing.T) {
	type want struct {
		key, tenant string
		quota       int
	}
	tests := []struct {
		name string
		text string
		want []want
	}{
		{"single fields", "a\n  b  \n", []want{{"a", "", 0}, {"b", "", 0}}},
		{"tenants and quotas", "# keys\n\nacme " + secret + " 50\nbeta.team_1-x kb\n\tc\n", []want{{secret, "acme", 50}, {"kb", "beta.team_1-x", 0}, {"c", "", 0}}},
		{"JSON array", "\n[\n {\"tenant\": \"acme\", \"key\": \"" + secret + "\", \"quota\": 5},\n {\"key\": \"kd\"}\n]\n", []want{{secret, "acme", 5}, {"kd", "", 0}}},
		{"JSON stream", "{\"tenant\": \"acme\", \"key\": \"ka\"}\n{\"tenant\": \"beta\", \"key\": \"kb\"}\n", []want{{"ka", "acme", 0}, {"kb", "beta", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeys(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if k.Len() != len(tt.want) {
				t.Errorf("Len = %d, want %d", k.Len(), len(tt.want))
			}
			for _, w := range tt.want {
				if tenant, quota, ok := k.Lookup(w.key); !ok || tenant != w.tenant || quota != w.quota {
					t.Errorf("Lookup(%s) = %q, %d, %v; want %q, %d", w.key, tenant, quota, ok, w.tenant, w.quota)
				}
			}
			if _, _, ok := k.Lookup("unknown"); ok {
				t.Error("Lookup accepted an unknown key")
			}
			if s := k.String(); strings.Contains(s, secret) {
				t.Errorf("String() = %q shows a key", s)
			}
		})
	}
}

func TestParseKeysErrors(t *testing.T) {
	tests := []struct {
		name, text, line string
	}{
		{"no keys", "# none\n\n", ""},
		{"bad tenant character", "ok k1\nac/me " + secret + "\n", "line 2"},
		{"tenant too long", "\n\n" + strings.Repeat("t", 65) + " " + secret + "\n", "line 3"},
		{"duplicate key", secret + "\n# again\nacme " + secret + "\n", "line 3"},
		{"zero quota", "acme " + secret + " 0\n", "line 1"},
		{"negative quota", "\nacme " + secret + " -3\n", "line 2"},
		{"bad quota", "acme " + secret + " lots\n", "line 1"},
		{"too many fields", "acme " + secret + " 1 2\n", "line 1"},
		{"JSON unknown member", "[\n {\"key\": \"k1\"},\n {\"tenant\": \"a\", \"key\": \"" + secret + "\", \"secret\": \"" + secret + "\"}\n]", "line 3"},
		{"JSON bad tenant", "[\n {\"tenant\": \"a b\", \"key\": \"" + secret + "\"}\n]", "line 2"},
		{"JSON duplicate", "{\"key\": \"" + secret + "\"}\n{\"tenant\": \"x\", \"key\": \"" + secret + "\"}\n", "line 2"},
		{"JSON no key", "[{\"tenant\": \"x\"}]", "line 1"},
		{"JSON wrong type", "[\n{\"key\": \"" + secret + "\", \"quota\": \"" + secret + "\"}]", "line 2"},
		{"JSON negative quota", "[{\"key\": \"" + secret + "\", \"quota\": -1}]", "line 1"},
		{"JSON malformed", "[\n{\"key\": \"" + secret + "\"", "line 2"},
		{"JSON syntax", "[\n{\"key\": " + secret + "}]", "line 2"},
		{"JSON trailing text", "[{\"key\": \"k1\"}]\n" + secret, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeys(tt.text)
			if err == nil {
				t.Fatalf("ParseKeys accepted it: %v", k)
			}
			if !errors.Is(err, dredge.ErrInvalidArgument) {
				t.Errorf("%v does not wrap ErrInvalidArgument", err)
			}
			if !strings.Contains(err.Error(), tt.line) || !strings.Contains(err.Error(), "API_KEYS_FILE") {
				t.Errorf("%q does not name %q", err, tt.line)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "TOPSECRET") {
				t.Errorf("%q shows the key", err)
			}
		})
	}
}

func TestKeysReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("acme " + secret + "\n")
	k, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := newTestHandler(t, Config{AuthEnabled: true, APIKeys: []string{keyA}, Keys: k, Logger: newLogger(&logs)})
	call := func(key string) int {
		r := httptest.NewRequest("GET", "/v1/ops", nil)
		r.Header.Set("X-API-Key", key)
		return serve(h, r).StatusCode
	}
	if a, b, c := call(secret), call("kb"), call(keyA); a != 200 || b != 401 || c != 200 {
		t.Fatalf("before reload: %d %d %d", a, b, c)
	}
	write("beta kb\n")
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if a, b, c := call(secret), call("kb"), call(keyA); a != 401 || b != 200 || c != 200 {
		t.Fatalf("after reload: %d %d %d", a, b, c)
	}
	// A file that does not parse keeps the keys.
	write("beta kb\nbad/tenant " + secret + "\n")
	err = k.Reload()
	if err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), secret) {
		t.Fatalf("Reload of a bad file: %v", err)
	}
	if b := call("kb"); b != 200 {
		t.Errorf("after a failed reload: %d", b)
	}
	h.log.Error("API keys not reloaded", "error", err)
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), keyA) || strings.Contains(logs.String(), `"kb"`) {
		t.Errorf("a key reached the log:\n%s", logs.String())
	}
	if _, err := ParseKeys("k"); err != nil {
		t.Fatal(err)
	} else if k2, _ := ParseKeys("k"); k2.Reload() == nil {
		t.Error("Reload of parsed keys succeeded")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := k.Reload(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Reload of a removed file: %v", err)
	}
}

func TestTenantOnContext(t *testing.T) {
	k, err := ParseKeys("acme ka\nkd\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, auth := range []bool{true, false} {
		h := newTestHandler(t, Config{AuthEnabled: auth, APIKeys: []string{keyA}, Keys: k})
		var got []string
		h.mux = http.NewServeMux()
		h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			got = append(got, "<"+dredge.TenantOf(r.Context())+">")
		})
		for _, key := range []string{"ka", "kd", keyA} {
			r := httptest.NewRequest("GET", "/v1/ops", nil)
			r.Header.Set("Authorization", "Bearer "+key)
			serve(h, r)
		}
		want := "<acme> <> <>"
		if !auth { // without authentication every request is the default tenant's
			want = "<> <> <>"
		}
		if g := strings.Join(got, " "); g != want {
			t.Errorf("auth %v: tenants %s, want %s", auth, g, want)
		}
	}
}

// A key in both APIKeys and Keys belongs to its tenant in Keys.
func TestTenantKeysWinOverAPIKeys(t *testing.T) {
	k, err := ParseKeys("acme " + keyA + "\n")
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHandler(t, Config{AuthEnabled: true, APIKeys: []string{keyA}, Keys: k})
	r := httptest.NewRequest("GET", "/v1/ops", nil)
	r.Header.Set("X-API-Key", keyA)
	tenant, _, msg := h.authenticate(r)
	if msg != "" || tenant != "acme" {
		t.Errorf("authenticate = %q, %q", tenant, msg)
	}
}

func TestAuthWithEmptyKeysRefused(t *testing.T) {
	eng := newTestEngine(t)
	if _, err := New(eng, Config{AuthEnabled: true, Keys: new(Keys)}); err == nil {
		t.Error("New accepted AuthEnabled with an empty Keys")
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add("acme " + secret + " 5\nkd\n")
	f.Add(`[{"tenant":"a","key":"` + secret + `"}]`)
	f.Add(`{"key":"x"}{"key":"y"}`)
	f.Fuzz(func(t *testing.T, text string) {
		k, err := ParseKeys(text)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%q shows a key", err)
			}
			return
		}
		if k.Len() == 0 {
			t.Error("ParseKeys returned no keys without an error")
		}
	})
}

// TestTenantCacheOverHTTP: two tenants asking the same question each get
// a fresh answer first; neither is answered from the other's cache.
func TestTenantCacheOverHTTP(t *testing.T) {
	k, err := ParseKeys("acme ka\nglobex kg\n")
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHandler(t, Config{AuthEnabled: true, Keys: k})
	cached := func(key string) bool {
		t.Helper()
		r := httptest.NewRequest("POST", "/v1/ops/unified_inference", strings.NewReader(`{"dredge_insight":"same question","quasimoto_coords":[0.3]}`))
		r.Header.Set("Authorization", "Bearer "+key)
		resp := serve(h, r)
		var body struct {
			Cached bool `json:"cached"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d, %v", resp.StatusCode, err)
		}
		return body.Cached
	}
	for i, c := range []struct {
		key    string
		cached bool
	}{{"ka", false}, {"kg", false}, {"ka", true}, {"kg", true}} {
		if got := cached(c.key); got != c.cached {
			t.Errorf("call %d: cached %v, want %v", i+1, got, c.cached)
		}
	}
}
