package httpapi

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestUIRoutes: the console's files are served under /ui/ with their
// types and a Content-Security-Policy, without a key when authentication is
// on (they hold no data) while the API they call still needs one; off, /ui
// is not found.
func TestUIRoutes(t *testing.T) {
	h := newTestHandler(t, Config{AuthEnabled: true, APIKeys: []string{"k"}, RateLimitEnabled: true, RateLimitRequests: 1})
	get := func(h http.Handler, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		return w
	}
	if w := get(h, "/ui"); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/ui/" {
		t.Errorf("GET /ui: %d to %q, want 301 to /ui/", w.Code, w.Header().Get("Location"))
	}
	for target, ctype := range map[string]string{
		"/ui/":                         "text/html; charset=utf-8",
		"/ui/app.js":                   "text/javascript; charset=utf-8",
		"/ui/app.css":                  "text/css; charset=utf-8",
		"/ui/vendor/uPlot.iife.min.js": "text/javascript; charset=utf-8",
	} {
		// Twice: the rate limit of one request does not apply either.
		for range 2 {
			w := get(h, target)
			if w.Code != 200 || w.Header().Get("Content-Type") != ctype || w.Body.Len() == 0 {
				t.Errorf("GET %s: %d %s, %d bytes; want 200 %s", target, w.Code, w.Header().Get("Content-Type"), w.Body.Len(), ctype)
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("GET %s: Content-Security-Policy %q", target, csp)
			}
		}
	}
	if w := get(h, "/ui/nope.js"); w.Code != 404 {
		t.Errorf("GET /ui/nope.js: %d, want 404", w.Code)
	}
	if w := get(h, "/ui/"); !strings.Contains(w.Body.String(), `src="app.js"`) {
		t.Errorf("the page does not load app.js by a relative path:\n%s", w.Body.String())
	}
	if w := get(h, "/v1/datasets/quasimoto_1d"); w.Code != http.StatusUnauthorized {
		t.Errorf("the API without a key: %d, want 401", w.Code)
	}

	off := newTestHandler(t, Config{DisableUI: true})
	for _, target := range []string{"/ui", "/ui/", "/ui/app.js"} {
		if w := get(off, target); w.Code != 404 {
			t.Errorf("DisableUI: GET %s: %d, want 404", target, w.Code)
		}
	}
	// Protect guards another handler, which has no console: /ui needs a
	// key there like any other path.
	p, err := Protect(http.NotFoundHandler(), Config{AuthEnabled: true, APIKeys: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	if w := get(p, "/ui/"); w.Code != http.StatusUnauthorized {
		t.Errorf("Protect: GET /ui/ without a key: %d, want 401", w.Code)
	}
}

// TestUIFiles: every file the page names is embedded, and no file names
// another host (the console makes no request outside the service).
func TestUIFiles(t *testing.T) {
	page, err := fs.ReadFile(uiFS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"app.js", "app.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css"} {
		if !strings.Contains(string(page), `"`+ref+`"`) {
			t.Errorf("index.html does not load %s", ref)
		}
		if _, err := fs.Stat(uiFS, ref); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
	for _, name := range []string{"index.html", "app.js", "app.css"} {
		b, err := fs.ReadFile(uiFS, name)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); strings.Contains(s, "http://") || strings.Contains(s, "https://") || strings.Contains(s, "//cdn") {
			t.Errorf("%s names another host", name)
		}
	}
}

func TestConfigFromEnvUI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "true": false, "false": true} {
		cfg, err := configFromLookup(func(k string) (string, bool) {
			if k == "UI_ENABLED" && v != "" {
				return v, true
			}
			return "", false
		}, LoadKeys)
		if err != nil || cfg.DisableUI != want {
			t.Errorf("UI_ENABLED=%q: DisableUI %v (%v), want %v", v, cfg.DisableUI, err, want)
		}
	}
	_, err := configFromLookup(func(k string) (string, bool) {
		if k == "UI_ENABLED" {
			return "maybe", true
		}
		return "", false
	}, LoadKeys)
	if ce, ok := err.(*ConfigError); !ok || ce.Name != "UI_ENABLED" {
		t.Errorf("UI_ENABLED=maybe: %v, want a ConfigError naming it", err)
	}
}
