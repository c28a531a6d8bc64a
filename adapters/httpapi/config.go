package httpapi

import (
	"cmp"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/envvar"
	"github.com/dredge-cli/dredge/workers"
)

// Defaults of the zero [Config].
const (
	DefaultMaxBodyBytes      = 8 << 20
	DefaultRateLimitRequests = 100
	DefaultRateLimitWindow   = time.Minute
	DefaultBodyReadTimeout   = time.Minute
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
)

// Config configures the handler returned by [New] and the server returned by
// [NewServer]. The zero value is the default: no authentication, no rate
// limiting, 8 MiB bodies, no access log (operations get the Engine's
// deadlines, see dredge.WithTimeouts).
type Config struct {
	// AuthEnabled requires one of APIKeys or Keys on every route except
	// /health and /ready, sent as "Authorization: Bearer <key>" or
	// "X-API-Key". New fails when AuthEnabled is set and there are none.
	// Keys are compared in constant time and never logged.
	AuthEnabled bool
	// APIKeys are keys of the default tenant "".
	APIKeys []string
	// Keys maps more keys to tenants, and may be reloaded while the
	// handler runs ([Keys.Reload]). The tenant of the key a request
	// presents goes on its context ([dredge.WithTenant]). A key in both
	// APIKeys and Keys belongs to its tenant in Keys.
	Keys *Keys

	// RateLimitEnabled limits each tenant, across all of its keys, to its
	// quota (see [Keys]) or else RateLimitRequests per RateLimitWindow,
	// with a token bucket: bursts up to the limit, refilled evenly.
	// Without authentication, and for requests that fail it, each client
	// address has RateLimitRequests.
	RateLimitEnabled bool
	// RateLimitRequests is the bucket size of a tenant without a quota,
	// and of a client address (0: 100).
	RateLimitRequests int
	// RateLimitWindow is the time a full bucket takes to refill (0: 1 min).
	RateLimitWindow time.Duration
	// TrustProxy takes the client address from the last entry of
	// X-Forwarded-For (the address seen by the proxy in front of this
	// server) instead of the connection's remote address. Set it only
	// behind a proxy that sets that header.
	TrustProxy bool

	// MaxBodyBytes bounds request bodies (0: 8 MiB); larger ones get 413.
	MaxBodyBytes int64
	// BodyReadTimeout bounds reading a request body, so that a client
	// cannot hold a connection by trickling one (0: 1 min, negative: none).
	BodyReadTimeout time.Duration

	// ReadHeaderTimeout, IdleTimeout and MaxHeaderBytes configure the
	// http.Server of [NewServer] (0: 10 s, 2 min and 64 KiB).
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// ShutdownTimeout bounds how long [Run] waits for requests in flight
	// after its context is done (0: 30 s).
	ShutdownTimeout time.Duration

	// Logger receives one access log record per request at level Info
	// (method, path, status, bytes, duration, remote) and the errors the
	// handler cannot return. Nil discards them.
	Logger *slog.Logger

	// MCP, when set, serves the Model Context Protocol's Streamable HTTP
	// transport at /mcp next to the legacy envelope: GET and DELETE, any
	// request with an Mcp-Session-Id header, and POST bodies that are
	// JSON-RPC (an object with a "jsonrpc" member, or an array) go to it.
	MCP http.Handler

	// DisableUI turns off the web console at /ui (UI_ENABLED=false). The
	// console is static files that call the API from the browser, with the
	// key its user enters: its files are served without authentication
	// or rate limiting, and hold no data.
	DisableUI bool

	// Jobs, when set, serves jobs on this queue: POST /v1/jobs enqueues
	// one, GET /v1/jobs/{id} reports it and DELETE /v1/jobs/{id} cancels
	// it. The workers running the jobs are the caller's (a workers.Pool,
	// here or in other processes). Nil: the job routes answer 404.
	Jobs workers.Queue

	// now is the rate limiter's clock (nil: time.Now), for tests.
	now func() time.Time
}

// ConfigError reports a bad configuration value. Name is the environment
// variable (from [ConfigFromEnv]) or the Config field (from [New]). It
// wraps [dredge.ErrInvalidArgument].
type ConfigError struct {
	Name   string
	Reason string
}

func (e *ConfigError) Error() string { return "httpapi: " + e.Name + ": " + e.Reason }

// Unwrap returns [dredge.ErrInvalidArgument].
func (e *ConfigError) Unwrap() error { return dredge.ErrInvalidArgument }

// ConfigFromEnv reads the service's configuration from the environment:
//
//   - AUTH_ENABLED (true|false) with API_KEY (a key of the default tenant)
//     and/or API_KEYS_FILE (keys of tenants, see [Keys]; [Config.Keys]
//     holds them and [Keys.Reload] reads the file again);
//   - RATE_LIMIT_ENABLED, RATE_LIMIT_REQUESTS (default 100) and
//     RATE_LIMIT_WINDOW (seconds, default 60); TRUST_PROXY (true|false);
//   - MAX_BODY_BYTES (default 8 MiB);
//   - UI_ENABLED (true|false, default true): the web console at /ui.
//
// Operation deadlines are the Engine's (REQUEST_TIMEOUT and
// LONG_REQUEST_TIMEOUT, read by [dredge.FromEnv]).
//
// Unset or empty variables keep the defaults. A malformed value, or
// AUTH_ENABLED without a key, is a [*ConfigError] naming the variable.
// Logger and MCP are left for the caller to set.
func ConfigFromEnv() (Config, error) {
	return configFromLookup(os.LookupEnv, LoadKeys)
}

func configFromLookup(lookup envvar.Lookup, loadKeys func(string) (*Keys, error)) (Config, error) {
	r := envvar.Reader{Lookup: lookup, Wrap: func(e *envvar.Error) error { return &ConfigError{Name: e.Name, Reason: e.Reason()} }}
	c := Config{AuthEnabled: r.Bool("AUTH_ENABLED", false)}
	if key := r.String("API_KEY", ""); key != "" {
		c.APIKeys = append(c.APIKeys, key)
	}
	if path := r.String("API_KEYS_FILE", ""); path != "" {
		keys, err := loadKeys(path)
		if err != nil {
			r.Add(err)
		}
		c.Keys = keys
	}
	if c.AuthEnabled && len(c.APIKeys) == 0 && c.Keys == nil {
		r.Add(&ConfigError{Name: "API_KEY", Reason: "AUTH_ENABLED is true but neither API_KEY nor API_KEYS_FILE gives a key"})
	}
	const maxWait = 365 * 24 * time.Hour
	c.RateLimitEnabled = r.Bool("RATE_LIMIT_ENABLED", false)
	c.TrustProxy = r.Bool("TRUST_PROXY", false)
	c.RateLimitRequests = r.Int("RATE_LIMIT_REQUESTS", 0, 1, 1<<30)
	c.RateLimitWindow = r.Seconds("RATE_LIMIT_WINDOW", 0, 0, maxWait)
	c.MaxBodyBytes = r.Int64("MAX_BODY_BYTES", 0, 1, 1<<40)
	c.DisableUI = !r.Bool("UI_ENABLED", true)
	if err := r.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	if c.AuthEnabled {
		if len(c.APIKeys) == 0 && (c.Keys == nil || c.Keys.Len() == 0) {
			return c, &ConfigError{Name: "APIKeys", Reason: "AuthEnabled needs at least one key"}
		}
		for _, k := range c.APIKeys {
			if k == "" {
				return c, &ConfigError{Name: "APIKeys", Reason: "a key is empty"}
			}
		}
	}
	switch {
	case c.RateLimitRequests < 0:
		return c, &ConfigError{Name: "RateLimitRequests", Reason: "must not be negative"}
	case c.RateLimitWindow < 0:
		return c, &ConfigError{Name: "RateLimitWindow", Reason: "must not be negative"}
	case c.MaxBodyBytes < 0:
		return c, &ConfigError{Name: "MaxBodyBytes", Reason: "must not be negative"}
	}
	c.RateLimitRequests = cmp.Or(c.RateLimitRequests, DefaultRateLimitRequests)
	c.RateLimitWindow = cmp.Or(c.RateLimitWindow, DefaultRateLimitWindow)
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.BodyReadTimeout = cmp.Or(c.BodyReadTimeout, DefaultBodyReadTimeout)
	c.ReadHeaderTimeout = cmp.Or(c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.MaxHeaderBytes = cmp.Or(c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}
