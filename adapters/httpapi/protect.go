package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/dredge-cli/dredge"
)

// Protect returns next behind the access log, authentication and rate
// limiting that the handler of [New] applies to its routes, configured by
// the same fields of cfg (AuthEnabled, APIKeys, Keys, RateLimit*,
// TrustProxy, Logger; the others are ignored). It is for a handler served
// on its own that must take the service's API keys: examples/mcp-server
// serves the MCP transport (mcp.NewHTTPHandler) this way.
//
// As with New, a request without a valid key ("Authorization: Bearer KEY"
// or "X-API-Key: KEY") gets 401 with "WWW-Authenticate: Bearer" and a JSON
// error that names no key, and /health and /ready pass without one; an
// admitted request reaches next with its key's tenant on its context
// ([dredge.WithTenant]). Keys reloaded through [Keys.Reload] apply from
// the next request on. It fails with a [*ConfigError] when cfg is invalid.
func Protect(next http.Handler, cfg Config) (http.Handler, error) {
	if next == nil {
		return nil, &ConfigError{Name: "next", Reason: "Protect needs a handler"}
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.DisableUI = true // next has no console: /ui needs a key like the rest
	h := newGuard(cfg)
	// The handler's ServeHTTP admits a request, then routes it: here every
	// path goes to next.
	h.mux = http.NewServeMux()
	h.mux.Handle("/", next)
	return h, nil
}

// Probes returns the service's GET /health, GET /ready and GET /metrics
// over eng, for a server that serves something else than [New]'s handler
// (examples/mcp-server mounts them beside the MCP transport, behind
// [Protect], so that it is probed and scraped as the service is).
// /health answers 200 while the process runs, /ready 200 while eng is
// ready (its cache reachable) and 503 otherwise (the reason goes to
// logger, not to the caller), /metrics the monitor's Prometheus text (404
// when metrics are off). Other paths are 404.
func Probes(eng *dredge.Engine, logger *slog.Logger) http.Handler {
	h := &handler{eng: eng, log: logger}
	if mon := eng.Monitor(); mon.MetricsEnabled() {
		h.metrics = mon.Handler()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", h.serveHealth)
	mux.HandleFunc("GET /ready", h.serveReady)
	mux.HandleFunc("GET /metrics", h.serveMetrics)
	return mux
}

// ReloadKeysOnHangup reads the keys file of keys again ([Keys.Reload]) on
// each SIGHUP until ctx is done, so that keys can be added, rotated and
// removed without a restart. A file that does not load leaves the keys as
// they were, and the error logged names the line, never a key. With nil
// keys (no API_KEYS_FILE) a SIGHUP only logs a warning. reloaded, when
// not nil, is called after each reload that succeeds (examples/worker
// passes the new tenants to its monitor).
func ReloadKeysOnHangup(ctx context.Context, keys *Keys, logger *slog.Logger, reloaded func()) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			if keys == nil {
				logger.Warn("SIGHUP: no API_KEYS_FILE to reload")
			} else if err := keys.Reload(); err != nil {
				logger.Error("API keys not reloaded; the previous keys stay", "error", err)
			} else {
				logger.Info("API keys reloaded", "keys", keys.Len())
				if reloaded != nil {
					reloaded()
				}
			}
		}
	}()
}
