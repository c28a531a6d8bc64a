package mcp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
)

// HTTPOptions configure [NewHTTPHandler]. The zero value is the default.
type HTTPOptions struct {
	// Options configure the server behind the handler.
	Options

	// AllowedOrigins are origins ("https://app.example.com", scheme, host
	// and optional port) whose browsers may call the handler besides the
	// handler's own origin. A request whose Origin header is present and
	// neither same-origin nor allowed is refused with 403 Forbidden.
	AllowedOrigins []string

	// Stateless serves every request without a session (no Mcp-Session-Id;
	// GET and DELETE answer 405), for deployments behind a load balancer
	// without session affinity.
	Stateless bool

	// JSONResponse answers POSTs with application/json instead of an SSE
	// stream.
	JSONResponse bool

	// SessionTimeout closes sessions idle for this long (0: 30 minutes;
	// negative: never).
	SessionTimeout time.Duration

	// MaxRequestBodyBytes bounds a request body (0: the SDK's default,
	// [sdk.DefaultMaxRequestBodyBytes]).
	MaxRequestBodyBytes int64
}

// DefaultSessionTimeout is the idle time after which [NewHTTPHandler]
// closes a session when HTTPOptions.SessionTimeout is zero.
const DefaultSessionTimeout = 30 * time.Minute

// HTTPHandler serves an Engine over MCP's Streamable HTTP transport. It is
// safe for concurrent use. Create one with [NewHTTPHandler].
//
// # Tenants
//
// Each request is served for the tenant its context carries
// ([dredge.TenantOf]; "" is the default tenant), which an authenticating
// handler in front puts there: httpapi's handler, or httpapi.Protect around
// an HTTPHandler served on its own. Every tool call and resource read runs
// on a context that carries the tenant, so that the Engine keeps each
// tenant's results (and models) apart.
//
// A session is bound to the tenant of the request that created it. Each
// tenant has its own SDK server, whose middleware puts the tenant on every
// call's context (so the binding does not depend on which context the SDK
// hands to handlers), and whose session ids start with a tag drawn at
// random for that tenant. A request that presents a session id without its
// own tenant's tag (another tenant's session) is answered exactly as one
// with an id no session has: the SDK's 404 "session not found". So a
// session id is no use to another tenant, and a client cannot tell another
// tenant's session from a session that never existed.
type HTTPHandler struct {
	eng  *dredge.Engine
	opts Options // of every tenant's server
	h    http.Handler

	mu      sync.Mutex
	tenants map[string]*tenantServer // by tenant name
	tags    map[string]bool          // the tags of tenants
}

// tenantServer is one tenant's SDK server and the prefix of its session ids.
type tenantServer struct {
	server *sdk.Server
	tag    string
}

// tagLen is the length of a tenant's session id tag: 16 characters of
// [rand.Text]'s base32, 80 random bits.
const tagLen = 16

// noSession is a session id that no session has: tagged ids are longer,
// and "-" is no base32 character. A request that presents another tenant's
// session is given this id instead, so that the SDK answers it as it
// answers an unknown session.
const noSession = "-"

var _ http.Handler = (*HTTPHandler)(nil)

// NewHTTPHandler returns a handler that serves eng over MCP's Streamable
// HTTP transport (the SDK's [sdk.StreamableHTTPHandler]) at whatever path
// it is mounted on, conventionally /mcp. It answers POST (JSON-RPC
// messages), GET (the server-to-client event stream) and DELETE (the end of
// a session).
//
// Two protections are on: the SDK's DNS-rebinding protection (a request
// that arrives on a loopback address with a non-loopback Host header is
// refused), and cross-origin protection: a request whose Origin header is
// present and neither same-origin nor one of HTTPOptions.AllowedOrigins is
// refused with 403 Forbidden, whatever its method. Clients that are not
// browsers send no Origin and pass.
//
// The handler does not authenticate: put it behind a handler that does
// and that puts the tenant on the request's context (see [HTTPHandler] for
// how sessions stay bound to their tenant). Tenants must come from a
// bounded set, such as the tenants of a keys file, never from request
// data: the handler keeps a server for each tenant it has seen.
//
// NewHTTPHandler fails if an allowed origin is malformed.
func NewHTTPHandler(eng *dredge.Engine, opts *HTTPOptions) (*HTTPHandler, error) {
	if eng == nil {
		return nil, errors.New("mcp: NewHTTPHandler needs an Engine")
	}
	var o HTTPOptions
	if opts != nil {
		o = *opts
	}
	cop := http.NewCrossOriginProtection()
	for _, origin := range o.AllowedOrigins {
		if err := cop.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("mcp: allowed origin: %w", err)
		}
	}
	switch {
	case o.SessionTimeout == 0:
		o.SessionTimeout = DefaultSessionTimeout
	case o.SessionTimeout < 0:
		o.SessionTimeout = 0 // the SDK's "never"
	}
	h := &HTTPHandler{eng: eng, opts: o.Options, tenants: make(map[string]*tenantServer), tags: make(map[string]bool)}
	sdkHandler := sdk.NewStreamableHTTPHandler(func(r *http.Request) *sdk.Server {
		return h.tenant(dredge.TenantOf(r.Context())).server
	}, &sdk.StreamableHTTPOptions{
		Stateless:           o.Stateless,
		JSONResponse:        o.JSONResponse,
		Logger:              o.Logger,
		SessionTimeout:      o.SessionTimeout,
		MaxRequestBodyBytes: o.MaxRequestBodyBytes,
	})
	var next http.Handler = sdkHandler
	if !o.Stateless {
		// Without sessions each request is served for its own tenant, on
		// its own context: there is no binding to check.
		next = h.bindSessions(sdkHandler)
	}
	h.h = crossOrigin(cop, next)
	return h, nil
}

// tenant returns the server of the named tenant, creating it on first use.
func (h *HTTPHandler) tenant(name string) *tenantServer {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ts := h.tenants[name]; ts != nil {
		return ts
	}
	tag := rand.Text()[:tagLen]
	for h.tags[tag] { // 80 random bits: never in practice
		tag = rand.Text()[:tagLen]
	}
	ts := &tenantServer{tag: tag}
	ts.server = newServer(h.eng, &h.opts, func() string { return tag + rand.Text() })
	ts.server.AddReceivingMiddleware(withTenant(name))
	h.tenants[name], h.tags[tag] = ts, true
	return ts
}

// withTenant puts the tenant on the context of every method a server
// receives (tool calls, resource reads, …).
func withTenant(name string) sdk.Middleware {
	return func(next sdk.MethodHandler) sdk.MethodHandler {
		return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
			return next(dredge.WithTenant(ctx, name), method, req)
		}
	}
}

// bindSessions gives a request that presents a session id of another
// tenant than its own the id [noSession], so that next answers it as an
// unknown session (404), after the very checks it makes for any other id.
func (h *HTTPHandler) bindSessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(sessionIDHeader)
		if id != "" && !h.owns(dredge.TenantOf(r.Context()), id) {
			r = r.Clone(r.Context()) // the caller's request stays as it was
			r.Header.Set(sessionIDHeader, noSession)
		}
		next.ServeHTTP(w, r)
	})
}

// sessionIDHeader is the header of MCP's session ids.
const sessionIDHeader = "Mcp-Session-Id"

// owns reports whether id may be a session of the named tenant: whether it
// starts with the tenant's tag. (The SDK then looks it up.)
func (h *HTTPHandler) owns(tenant, id string) bool {
	h.mu.Lock()
	ts := h.tenants[tenant]
	h.mu.Unlock()
	return ts != nil && len(id) > tagLen && strings.HasPrefix(id, ts.tag)
}

// ServeHTTP implements [http.Handler].
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.h.ServeHTTP(w, r)
}

// CloseSessions ends every open session, which also ends their event
// streams (long-lived GET requests that would otherwise hold up
// [http.Server.Shutdown]). Register it with [http.Server.RegisterOnShutdown].
// Clients may open new sessions afterwards; it is safe to call at any time
// and more than once.
//
// An event stream that a client was opening at that very moment may attach
// to its session just after it is closed, so CloseSessions closes the
// sessions again over a short settling period (about 150 ms).
func (h *HTTPHandler) CloseSessions() {
	for round := 0; ; round++ {
		for _, srv := range h.servers() {
			for ss := range srv.Sessions() {
				_ = ss.Close()
			}
		}
		if round == closeRounds-1 {
			return
		}
		time.Sleep(closeSettle)
	}
}

// servers returns the tenants' servers.
func (h *HTTPHandler) servers() []*sdk.Server {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*sdk.Server, 0, len(h.tenants))
	for _, ts := range h.tenants {
		out = append(out, ts.server)
	}
	return out
}

// Rounds and spacing of CloseSessions's settling period.
const (
	closeRounds = 4
	closeSettle = 50 * time.Millisecond
)

// crossOrigin refuses cross-origin requests with 403. MCP asks servers to
// validate Origin on every request (the GET that opens the event stream
// included), whereas [http.CrossOriginProtection] exempts the safe methods;
// so each request is checked as if it were a POST.
func crossOrigin(cop *http.CrossOriginProtection, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		check := r
		if r.Method != http.MethodPost {
			c := *r
			c.Method = http.MethodPost
			check = &c
		}
		if err := cop.Check(check); err != nil {
			http.Error(w, "Forbidden: cross-origin request (origin not allowed)", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
