package mcp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
)

// tenantHeader names the tenant of a request in these tests, where
// tenantFromHeader stands in for the authentication (httpapi's) that puts
// the tenant of an API key on the context.
const tenantHeader = "X-Test-Tenant"

func tenantFromHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(dredge.WithTenant(r.Context(), r.Header.Get(tenantHeader))))
	})
}

// withHeader is an http.RoundTripper that sets a header on every request.
type withHeader struct {
	name, value string
}

func (h withHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.name, h.value)
	return http.DefaultTransport.RoundTrip(r)
}

// connectAs connects the SDK's client to ts as tenant.
func connectAs(t *testing.T, ts *httptest.Server, tenant string) *sdk.ClientSession {
	t.Helper()
	transport := &sdk.StreamableClientTransport{
		Endpoint:   ts.URL + "/mcp",
		HTTPClient: &http.Client{Transport: withHeader{tenantHeader, tenant}},
		MaxRetries: -1,
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(testContext(t), transport, nil)
	if err != nil {
		t.Fatalf("connecting as %q: %v", tenant, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// spectrumCached calls string_spectrum (a cached operation) and returns
// the answer's "cached" flag.
func spectrumCached(t *testing.T, cs *sdk.ClientSession) bool {
	t.Helper()
	res, err := cs.CallTool(testContext(t), &sdk.CallToolParams{Name: "string_spectrum", Arguments: map[string]any{"max_modes": 5}})
	if err != nil || res.IsError {
		t.Fatalf("string_spectrum: %v %+v", err, res)
	}
	cached, ok := decode(t, res.StructuredContent).(map[string]any)["cached"].(bool)
	if !ok {
		t.Fatalf("string_spectrum: no cached flag in %v", res.StructuredContent)
	}
	return cached
}

// TestHTTPTenantReachesEngine: the tenant of the requests reaches the
// Engine in every tool call, which keeps each tenant's cached results
// apart; with sessions (the tenant of the session) and without.
func TestHTTPTenantReachesEngine(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts HTTPOptions
	}{
		{"sessions", HTTPOptions{}},
		{"stateless", HTTPOptions{Stateless: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := serveWrapped(t, &tc.opts, tenantFromHeader)
			a, b := connectAs(t, ts, "acme"), connectAs(t, ts, "globex")
			if spectrumCached(t, a) {
				t.Fatal("acme's first call answered from the cache")
			}
			if !spectrumCached(t, a) {
				t.Fatal("acme's second call not answered from the cache: the tenant does not reach the Engine consistently")
			}
			if spectrumCached(t, b) {
				t.Error("globex got acme's cached result")
			}
			if !spectrumCached(t, b) {
				t.Error("globex's second call not answered from the cache")
			}
			if d := connectAs(t, ts, ""); spectrumCached(t, d) {
				t.Error("the default tenant got another tenant's cached result")
			}
		})
	}
}

// rawAnswer is what a raw request got: enough to compare two answers.
type rawAnswer struct {
	status      int
	contentType string
	body        string
}

// raw sends one request with a session id as tenant.
func raw(t *testing.T, ts *httptest.Server, method, tenant, session, body string) rawAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, ts.URL+"/mcp", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	req.Header.Set(sessionIDHeader, session)
	req.Header.Set(tenantHeader, tenant)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

const callSpectrum = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"string_spectrum","arguments":{"max_modes":5}}}`

// TestHTTPSessionHijack: a session id presented by another tenant gets
// exactly the answer of an id no session has (the SDK's 404), for each
// method, and the session goes on serving its own tenant (another
// tenant's DELETE did not end it).
func TestHTTPSessionHijack(t *testing.T) {
	ts, _ := serveWrapped(t, nil, tenantFromHeader)
	a := connectAs(t, ts, "acme")
	g := connectAs(t, ts, "globex")
	id := a.ID()
	if id == "" || g.ID() == "" {
		t.Fatal("no session id")
	}
	// An id of globex's form (its tenant's tag) that no session has: the
	// SDK itself answers it.
	unknown := g.ID()[:len(g.ID())-1] + "2"
	if unknown == g.ID() {
		unknown = g.ID()[:len(g.ID())-1] + "3"
	}
	for _, method := range []string{"POST", "GET", "DELETE"} {
		body := ""
		if method == "POST" {
			body = callSpectrum
		}
		want := raw(t, ts, method, "globex", unknown, body)
		if want.status != http.StatusNotFound {
			t.Fatalf("%s with an unknown session id: %+v, want 404", method, want)
		}
		for _, tenant := range []string{"globex", "initech", ""} {
			if got := raw(t, ts, method, tenant, id, body); got != want {
				t.Errorf("%s with acme's session id as %q: %+v, want %+v (as an unknown id)", method, tenant, got, want)
			}
		}
	}
	// The session is acme's still, and alive.
	if got := raw(t, ts, "POST", "acme", id, callSpectrum); got.status != http.StatusOK || !strings.Contains(got.body, "energy_spectrum") {
		t.Errorf("acme's own session after the attempts: %+v", got)
	}
	if spectrumCached(t, a) != true { // the raw call above stored the result
		t.Error("acme's session lost its tenant")
	}
}

// TestHTTPCloseSessionsEveryTenant: CloseSessions ends the sessions of
// every tenant's server.
func TestHTTPCloseSessionsEveryTenant(t *testing.T) {
	ts, h := serveWrapped(t, nil, tenantFromHeader)
	sessions := []*sdk.ClientSession{connectAs(t, ts, "acme"), connectAs(t, ts, "globex"), connectAs(t, ts, "")}
	h.CloseSessions()
	var wg sync.WaitGroup
	for _, cs := range sessions {
		wg.Go(func() {
			if err := cs.Ping(testContext(t), nil); err == nil {
				t.Errorf("session %s answers a ping after CloseSessions", cs.ID())
			}
		})
	}
	wg.Wait()
}

func TestNewHTTPHandlerNilEngine(t *testing.T) {
	if _, err := NewHTTPHandler(nil, nil); err == nil {
		t.Error("NewHTTPHandler(nil, nil) succeeded")
	}
}
