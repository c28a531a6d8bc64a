package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge/adapters/httpapi"
	"github.com/dredge-cli/dredge/adapters/mcp"
	"github.com/dredge-cli/dredge/internal/testengine"
)

// The keys of the tests below: acme has two, globex one.
const (
	keyAcme1  = "acme-key-1-c0ffee"
	keyAcme2  = "acme-key-2-decade"
	keyGlobex = "globex-key-facade"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mcpService serves httpapi.New with the MCP transport and the keys of
// keysFile, and returns the server, the keys (to reload) and the log.
func mcpService(t *testing.T, keysFile string) (*httptest.Server, *httpapi.Keys, *syncBuffer) {
	t.Helper()
	keys, err := httpapi.LoadKeys(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	logs := new(syncBuffer)
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng := testengine.New(t)
	m, err := mcp.NewHTTPHandler(eng, &mcp.HTTPOptions{Options: mcp.Options{Logger: logger}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(eng, httpapi.Config{AuthEnabled: true, Keys: keys, MCP: m, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.Config.RegisterOnShutdown(m.CloseSessions)
	ts.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ts.Config.Shutdown(ctx)
		ts.Close()
	})
	return ts, keys, logs
}

// bearer is an http.RoundTripper that presents an API key (none if "").
type bearer string

func (k bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if k != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+string(k))
	}
	return http.DefaultTransport.RoundTrip(r)
}

func mcpTestContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// connectWithKey connects the go-sdk's client to the service's /mcp with
// key.
func connectWithKey(t *testing.T, ts *httptest.Server, key string) *sdk.ClientSession {
	t.Helper()
	transport := &sdk.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: &http.Client{Transport: bearer(key)}, MaxRetries: -1}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(mcpTestContext(t), transport, nil)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// spectrum calls string_spectrum (a cached operation) and returns the
// answer's "cached" flag.
func spectrum(t *testing.T, cs *sdk.ClientSession) (cached bool, err error) {
	t.Helper()
	res, err := cs.CallTool(mcpTestContext(t), &sdk.CallToolParams{Name: "string_spectrum", Arguments: map[string]any{"max_modes": 5}})
	if err != nil {
		return false, err
	}
	if res.IsError {
		t.Fatalf("string_spectrum: tool error %+v", res)
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Cached *bool `json:"cached"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Cached == nil {
		t.Fatalf("string_spectrum: no cached flag in %s", b)
	}
	return *out.Cached, nil
}

// mustSpectrum is spectrum that fails the test on a protocol error.
func mustSpectrum(t *testing.T, cs *sdk.ClientSession) bool {
	t.Helper()
	cached, err := spectrum(t, cs)
	if err != nil {
		t.Fatalf("string_spectrum: %v", err)
	}
	return cached
}

// mcpAnswer is what a raw MCP request got.
type mcpAnswer struct {
	status      int
	contentType string
	challenge   string
	body        string
}

// rawMCP sends one JSON-RPC request on a session with key ("": none).
func rawMCP(t *testing.T, ts *httptest.Server, method, key, session string) mcpAnswer {
	t.Helper()
	body := ""
	if method == "POST" {
		body = `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"string_spectrum","arguments":{"max_modes":5}}}`
	}
	req, err := http.NewRequestWithContext(mcpTestContext(t), method, ts.URL+"/mcp", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	req.Header.Set("Mcp-Session-Id", session)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mcpAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("WWW-Authenticate"), string(b)}
}

func writeKeys(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestMCPTenants runs the MCP transport behind the service's keys with
// two tenants and the go-sdk's client: each session's calls reach the
// Engine as its key's tenant, a session id is no use with another
// tenant's key or without a key, and a key removed by a reload stops its
// sessions at once. No key reaches the log.
func TestMCPTenants(t *testing.T) {
	keysFile := filepath.Join(t.TempDir(), "keys")
	writeKeys(t, keysFile, "acme "+keyAcme1+"\nacme "+keyAcme2+"\nglobex "+keyGlobex+"\n")
	ts, keys, logs := mcpService(t, keysFile)

	acme := connectWithKey(t, ts, keyAcme1)
	globex := connectWithKey(t, ts, keyGlobex)

	t.Run("tenant reaches the Engine", func(t *testing.T) {
		if mustSpectrum(t, acme) {
			t.Fatal("acme's first call answered from the cache")
		}
		if !mustSpectrum(t, acme) {
			t.Fatal("acme's second call not answered from the cache")
		}
		if mustSpectrum(t, globex) {
			t.Error("globex got acme's cached result")
		}
		// acme's other key is the same tenant: acme's cache.
		if !mustSpectrum(t, connectWithKey(t, ts, keyAcme2)) {
			t.Error("acme's second key does not see acme's cached result")
		}
	})

	t.Run("no key", func(t *testing.T) {
		for _, method := range []string{"POST", "GET", "DELETE"} {
			got := rawMCP(t, ts, method, "", acme.ID())
			if got.status != http.StatusUnauthorized || !strings.HasPrefix(got.challenge, "Bearer") {
				t.Errorf("%s with acme's session and no key: %+v, want 401 with a Bearer challenge", method, got)
			}
		}
		if _, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(mcpTestContext(t),
			&sdk.StreamableClientTransport{Endpoint: ts.URL + "/mcp", MaxRetries: -1}, nil); err == nil {
			t.Error("a client without a key connected")
		}
	})

	t.Run("hijack", func(t *testing.T) {
		// An id of globex's own form that no session has: the go-sdk's
		// answer to an unknown session.
		unknown := globex.ID()[:len(globex.ID())-1] + "2"
		if unknown == globex.ID() {
			unknown = globex.ID()[:len(globex.ID())-1] + "3"
		}
		for _, method := range []string{"POST", "GET", "DELETE"} {
			want := rawMCP(t, ts, method, keyGlobex, unknown)
			if want.status != http.StatusNotFound {
				t.Fatalf("%s with an unknown session id: %+v, want 404", method, want)
			}
			if got := rawMCP(t, ts, method, keyGlobex, acme.ID()); got != want {
				t.Errorf("%s with acme's session and globex's key: %+v, want %+v (an unknown session's answer)", method, got, want)
			}
		}
		// globex's DELETE did not end acme's session.
		if !mustSpectrum(t, acme) {
			t.Error("acme's session after globex's attempts: not acme's cached result")
		}
	})

	t.Run("reload removes a key", func(t *testing.T) {
		byKey2 := connectWithKey(t, ts, keyAcme2)
		writeKeys(t, keysFile, "acme "+keyAcme2+"\nglobex "+keyGlobex+"\n")
		if err := keys.Reload(); err != nil {
			t.Fatal(err)
		}
		if _, err := spectrum(t, acme); err == nil {
			t.Error("a session of the removed key still answers")
		}
		if got := rawMCP(t, ts, "POST", keyAcme1, acme.ID()); got.status != http.StatusUnauthorized || !strings.HasPrefix(got.challenge, "Bearer") || strings.Contains(got.body, keyAcme1) {
			t.Errorf("the removed key on its session: %+v, want 401 with a Bearer challenge, without the key", got)
		}
		// acme's other key goes on, on acme's cache.
		if !mustSpectrum(t, byKey2) {
			t.Error("acme's remaining key lost acme's cache")
		}
		if mustSpectrum(t, globex) != true {
			t.Error("globex's session after the reload")
		}
	})

	for _, key := range []string{keyAcme1, keyAcme2, keyGlobex} {
		if strings.Contains(logs.String(), key) {
			t.Errorf("a key is in the log:\n%s", logs.String())
		}
	}
}
