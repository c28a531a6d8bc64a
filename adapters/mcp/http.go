package mcp

import (
	"fmt"
	"net/http"
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
type HTTPHandler struct {
	server *sdk.Server
	h      http.Handler
}

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
// NewHTTPHandler fails if an allowed origin is malformed.
func NewHTTPHandler(eng *dredge.Engine, opts *HTTPOptions) (*HTTPHandler, error) {
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
	srv := NewServer(eng, &o.Options)
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, &sdk.StreamableHTTPOptions{
		Stateless:           o.Stateless,
		JSONResponse:        o.JSONResponse,
		Logger:              o.Logger,
		SessionTimeout:      o.SessionTimeout,
		MaxRequestBodyBytes: o.MaxRequestBodyBytes,
	})
	return &HTTPHandler{server: srv, h: crossOrigin(cop, h)}, nil
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
		for ss := range h.server.Sessions() {
			_ = ss.Close()
		}
		if round == closeRounds-1 {
			return
		}
		time.Sleep(closeSettle)
	}
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
