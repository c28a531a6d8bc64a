package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/monitor"
)

// readyTimeout bounds a readiness check.
const readyTimeout = 2 * time.Second

var (
	healthy  = []byte(`{"status":"healthy","version":"` + dredge.Version + `"}`)
	ready    = []byte(`{"status":"ready","version":"` + dredge.Version + `"}`)
	notReady = []byte(`{"status":"not_ready","success":false,"error":"a dependency is not ready","code":"unavailable"}`)
)

// handler is the http.Handler returned by New.
type handler struct {
	eng *dredge.Engine
	cfg Config
	mux *http.ServeMux
	mcp http.Handler

	auth        bool
	defaultKeys *keySet      // APIKeys, all of the default tenant
	keys        *Keys        // nil: only defaultKeys
	lim         *limiter     // nil: no rate limiting
	log         *slog.Logger // nil: no access log

	// mon, when set, labels the metrics of the tenants of keys: admit
	// gives it their names again after a reload (syncTenants).
	mon        *monitor.Monitor
	tenantsMu  sync.Mutex
	tenantsFor atomic.Pointer[keySet] // the generation mon has the tenants of

	index, opsList []byte
	metrics        http.Handler // nil: metrics off
}

var _ http.Handler = (*handler)(nil)

// newGuard returns a handler with the access log, authentication and rate
// limiting of cfg (already through withDefaults) and nothing to route: the
// part of New that [Protect] shares.
func newGuard(cfg Config) *handler {
	h := &handler{cfg: cfg, log: cfg.Logger}
	if cfg.AuthEnabled {
		h.auth, h.keys, h.defaultKeys = true, cfg.Keys, new(keySet)
		for _, k := range cfg.APIKeys {
			h.defaultKeys.add(sha256.Sum256([]byte(k)), "")
		}
	}
	if cfg.RateLimitEnabled {
		h.lim = newLimiter(cfg.RateLimitWindow, cfg.now)
	}
	return h
}

// New returns the HTTP handler of the service over eng, configured by cfg
// (the zero Config is the default). It fails with a [*ConfigError] when cfg
// is invalid, and with the Engine's error when eng is closed. The handler
// is safe for concurrent use; eng stays the caller's to close.
func New(eng *dredge.Engine, cfg Config) (http.Handler, error) {
	if eng == nil {
		return nil, &ConfigError{Name: "eng", Reason: "New needs an Engine"}
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := newGuard(cfg)
	h.eng, h.mux, h.mcp = eng, http.NewServeMux(), cfg.MCP
	if mon := eng.Monitor(); mon.MetricsEnabled() {
		h.metrics = mon.Handler()
		if h.keys != nil {
			h.mon = mon
			h.syncTenants()
		}
	}

	type route struct {
		methods, path string
		fn            http.HandlerFunc
		desc          string
	}
	routes := []route{
		{"GET", "/{$}", h.serveIndex, "API information: the service, its capabilities and routes"},
		{"GET", "/health", h.serveHealth, "Health check"},
		{"GET", "/ready", h.serveReady, "Readiness check: the dependencies answer"},
		{"GET", "/metrics", h.serveMetrics, "Prometheus metrics"},
		{"GET", "/v1/ops", h.serveOpsList, "The operations"},
		{"POST", "/v1/ops/{operation}", h.serveOp, "Run an operation, its params as the body (POST)"},
		{"POST", "/lift", h.serveLift, "Lift an insight (POST)"},
		{"GET", "/v1/datasets/{model_type}", h.serveDataset, "The points of a model type's training set on a line along its first input, to plot a fit (GET)"},
	}
	if !cfg.DisableUI {
		routes = append(routes,
			route{"GET", "/ui", serveUIRedirect, "Web console (GET)"},
			route{"GET", "/ui/", serveUI, "Web console assets (GET)"})
	}
	if cfg.Jobs != nil {
		routes = append(routes,
			route{"POST", "/v1/jobs", h.serveJobSubmit, "Submit a job: {\"operation\", \"params\"} (POST), 202 with its job_id"},
			route{"GET", "/v1/jobs/{id}", h.serveJobStatus, "A job's status, and its result once completed (GET)"},
			route{"DELETE", "/v1/jobs/{id}", h.serveJobCancel, "Cancel a pending or running job (DELETE)"})
	} else {
		h.mux.HandleFunc("/v1/jobs", serveJobsOff)
		h.mux.HandleFunc("/v1/jobs/", serveJobsOff)
	}
	var names, paths []string
	endpoints := make(map[string]string, len(routes)+1)
	allows := make(map[string][]string, len(routes))
	for _, rt := range routes {
		h.mux.HandleFunc(rt.methods+" "+rt.path, rt.fn)
		allow := rt.methods
		if allow == "GET" {
			allow = "GET, HEAD"
		}
		if allows[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		allows[rt.path] = append(allows[rt.path], allow)
		path := stripDollar(rt.path)
		names = append(names, rt.methods+" "+path)
		if d, ok := endpoints[path]; ok {
			endpoints[path] = d + "; " + rt.desc
		} else {
			endpoints[path] = rt.desc
		}
	}
	// One handler per path answers 405 for the methods no route serves.
	for _, p := range paths {
		h.mux.HandleFunc(p, methodNotAllowed(strings.Join(allows[p], ", ")))
	}
	h.mux.HandleFunc("/mcp", h.serveMCP)
	endpoints["/mcp"] = "MCP protocol endpoint: the original's {\"operation\", \"params\"} JSON (POST)"
	if h.mcp != nil {
		names = append(names, "GET /mcp", "POST /mcp", "DELETE /mcp")
		endpoints["/mcp"] += " and MCP Streamable HTTP"
	} else {
		names = append(names, "POST /mcp")
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, &dredge.Error{Code: dredge.CodeNotFound, Field: "path",
			Message: "no route for " + r.Method + " " + truncate(r.URL.Path, 128)})
	})

	// The index answers what both of the original's servers answered at
	// GET /: the DREDGE x Dolly server its name, version, description and
	// endpoints; the MCP server its capabilities and features. The
	// capabilities do not change over the Engine's life.
	caps, err := eng.Capabilities(context.Background())
	if err != nil {
		return nil, err
	}
	h.index, _ = json.Marshal(struct {
		Success      bool                   `json:"success"`
		Name         string                 `json:"name"`
		Version      string                 `json:"version"`
		Description  string                 `json:"description"`
		Endpoints    map[string]string      `json:"endpoints"`
		Protocol     string                 `json:"protocol"`
		Capabilities dredge.CapabilityLists `json:"capabilities"`
		Features     dredge.Features        `json:"features"`
		Routes       []string               `json:"routes"`
		Operations   []string               `json:"operations"`
	}{true, dredge.ServiceName, dredge.Version, dredge.ServiceDescription, endpoints,
		caps.Protocol, caps.Capabilities, caps.Features, names, dredge.Operations()})
	type opInfo struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Route       string `json:"route"`
	}
	ops := []opInfo{}
	for _, n := range dredge.Operations() {
		o, _ := dredge.LookupOperation(n)
		ops = append(ops, opInfo{n, o.Description, "POST /v1/ops/" + n})
	}
	h.opsList, _ = json.Marshal(struct {
		Success    bool     `json:"success"`
		Operations []opInfo `json:"operations"`
	}{true, ops})
	return h, nil
}

func stripDollar(p string) string {
	if p == "/{$}" {
		return "/"
	}
	return p
}

func (h *handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.index)
}

func (h *handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, healthy)
}

func (h *handler) serveOpsList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.opsList)
}

func (h *handler) serveReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	err := h.eng.Ready(ctx)
	if err == nil && h.cfg.Jobs != nil {
		// Jobs are part of what the service serves: a queue it cannot
		// reach (Redis down) makes it not ready, as the cache does.
		_, err = h.cfg.Jobs.Depth(ctx)
	}
	if err != nil {
		// The reason may name internal addresses: it goes to the log, not
		// to the unauthenticated caller.
		if h.log != nil {
			h.log.LogAttrs(r.Context(), slog.LevelWarn, "not ready", slog.String("error", err.Error()))
		}
		writeJSON(w, http.StatusServiceUnavailable, notReady)
		return
	}
	writeJSON(w, http.StatusOK, ready)
}

func (h *handler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if h.metrics == nil {
		writeError(w, http.StatusNotFound, &dredge.Error{Code: dredge.CodeNotFound, Field: "path",
			Message: "metrics are disabled (METRICS_ENABLED=false)"})
		return
	}
	h.metrics.ServeHTTP(w, r)
}

// serveDataset answers GET /v1/datasets/{model_type} with the training set's
// slice (dredge.Engine.TrainingSlice).
func (h *handler) serveDataset(w http.ResponseWriter, r *http.Request) {
	s, err := h.eng.TrainingSlice(r.PathValue("model_type"))
	if err != nil {
		writeError(w, StatusOf(dredge.CodeOf(err)), err)
		return
	}
	body, err := json.Marshal(s)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// serveOp runs POST /v1/ops/{operation} with the body as params.
func (h *handler) serveOp(w http.ResponseWriter, r *http.Request) {
	h.call(w, r, r.PathValue("operation"))
}

// serveLift runs POST /lift, the original's endpoint: the body is lift's
// params, {"insight_text": …}.
func (h *handler) serveLift(w http.ResponseWriter, r *http.Request) {
	h.call(w, r, "lift")
}

func (h *handler) call(w http.ResponseWriter, r *http.Request, op string) {
	buf, ok := h.readBody(w, r)
	if !ok {
		return
	}
	// The Engine does not keep params past the call: the buffer is reused.
	defer putBuffer(buf)
	if wantsEvents(r) {
		h.stream(w, r, op, buf.Bytes())
		return
	}
	body, code := h.eng.CallJSON(r.Context(), op, buf.Bytes())
	if code == dredge.CodeUnavailable {
		// Busy (every heavy turn taken), past the deadline, or closing:
		// the same request may well succeed a moment later.
		w.Header()["Retry-After"] = retryAfter
	}
	writeResult(w, r, StatusOf(code), body)
}

// serveMCP serves /mcp: the legacy envelope, or the MCP transport when
// one is configured and the request is meant for it.
func (h *handler) serveMCP(w http.ResponseWriter, r *http.Request) {
	if h.mcp != nil && (r.Method != http.MethodPost || r.Header.Get("Mcp-Session-Id") != "") {
		h.mcp.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodPost {
		methodNotAllowed("POST")(w, r)
		return
	}
	buf, ok := h.readBody(w, r)
	if !ok {
		return
	}
	if h.mcp != nil && isJSONRPC(buf.Bytes()) {
		// The MCP handler owns the body from here: the buffer is not
		// recycled, in case it keeps a reference.
		r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
		r.ContentLength = int64(buf.Len())
		h.mcp.ServeHTTP(w, r)
		return
	}
	defer putBuffer(buf)
	body, code := h.eng.HandleRequest(r.Context(), buf.Bytes())
	// The original answered every envelope with HTTP 200 and "success";
	// a body that is not a JSON object is no envelope at all.
	status := http.StatusOK
	if code == dredge.CodeInvalidArgument && !isObject(buf.Bytes()) {
		status = http.StatusBadRequest
	}
	writeResult(w, r, status, body)
}

// readBody reads the request body, bounded by MaxBodyBytes, into a pooled
// buffer. On failure it has answered the request and returns false.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) (*bytes.Buffer, bool) {
	limit := h.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		writeTooLarge(w, limit)
		return nil, false
	}
	// Without a server ReadTimeout (which would cut the MCP event streams),
	// a read deadline bounds clients that trickle a body.
	rc := http.NewResponseController(w)
	deadline := false
	if t := h.cfg.BodyReadTimeout; t > 0 && r.ContentLength != 0 {
		deadline = rc.SetReadDeadline(time.Now().Add(t)) == nil
	}
	buf := getBuffer()
	if n := r.ContentLength; n > 0 {
		// Grow for the announced size, within reason: a client that
		// announces 8 MiB and sends nothing must not reserve 8 MiB.
		buf.Grow(int(min(n, maxPreallocBody)) + bytes.MinRead)
	}
	// Also when Content-Length is known: a wrapping handler may have
	// replaced the body without updating it.
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err == nil {
		// Closed, the body needs no check for unread bytes when the
		// answer is written.
		_ = r.Body.Close()
		if deadline {
			// The server's background read must not time out while the
			// handler runs. After a failure the deadline stays: the
			// connection is closed after the answer, without waiting
			// for the rest of the body.
			_ = rc.SetReadDeadline(time.Time{})
		}
	}
	if err != nil {
		putBuffer(buf)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeTooLarge(w, limit)
			return nil, false
		}
		// The error names the server's address: it stays out of the answer.
		status, msg := http.StatusBadRequest, "body: the request body could not be read"
		if errors.Is(err, os.ErrDeadlineExceeded) {
			status, msg = http.StatusRequestTimeout, "body: not received within "+h.cfg.BodyReadTimeout.String()
		}
		w.Header().Set("Connection", "close")
		writeError(w, status, &dredge.Error{Code: dredge.CodeInvalidArgument, Field: "body", Message: msg})
		return nil, false
	}
	return buf, true
}

func writeTooLarge(w http.ResponseWriter, limit int64) {
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge, &dredge.Error{Code: dredge.CodeInvalidArgument, Field: "body",
		Message: fmt.Sprintf("body: larger than the limit of %d bytes (MAX_BODY_BYTES)", limit)})
}

func methodNotAllowed(allow string) http.HandlerFunc {
	allowed := []string{allow}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Allow"] = allowed
		writeError(w, http.StatusMethodNotAllowed, &dredge.Error{Code: dredge.CodeInvalidArgument, Field: "method",
			Message: "method " + truncate(r.Method, 32) + " not allowed on " + truncate(r.URL.Path, 128) + " (allowed: " + allow + ")"})
	}
}

// StatusOf maps an operation's [dredge.Code] to an HTTP status:
// invalid_argument 400, not_found 404, unauthenticated 401, rate_limited
// and resource_exhausted 429, unavailable 503, internal 500, success 200.
func StatusOf(c dredge.Code) int {
	switch c {
	case dredge.CodeOK:
		return http.StatusOK
	case dredge.CodeInvalidArgument:
		return http.StatusBadRequest
	case dredge.CodeNotFound:
		return http.StatusNotFound
	case dredge.CodeUnauthenticated:
		return http.StatusUnauthorized
	case dredge.CodeRateLimited, dredge.CodeResourceExhausted:
		return http.StatusTooManyRequests
	case dredge.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

var (
	retryAfter      = []string{"1"}
	jsonContentType = []string{"application/json"}
	noSniff         = []string{"nosniff"}
)

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	hdr := w.Header()
	// Shared, never modified slices: no allocation per request.
	hdr["Content-Type"] = jsonContentType
	hdr["X-Content-Type-Options"] = noSniff
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError answers with {"success": false, "error", "code", "field"}.
func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, dredge.ErrorJSON(err))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// maxPreallocBody bounds the buffer reserved ahead of a body's bytes.
const maxPreallocBody = 64 << 10

// maxPooledBuffer is the largest buffer kept for reuse.
const maxPooledBuffer = 64 << 10

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer { return bufferPool.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	bufferPool.Put(b)
}
