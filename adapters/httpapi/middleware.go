package httpapi

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dredge-cli/dredge"
)

// ServeHTTP runs the request through the access log, authentication and
// rate limiting, then routes it.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.log == nil || !h.log.Enabled(r.Context(), slog.LevelInfo) {
		defer h.recoverPanic(w, r)
		if r, ok := h.admit(w, r); ok {
			h.mux.ServeHTTP(w, r)
		}
		return
	}
	start := time.Now()
	lw := &logWriter{ResponseWriter: w}
	defer func() {
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", lw.code()),
			slog.Int64("bytes", lw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", h.clientAddr(r)),
		)
	}()
	defer h.recoverPanic(lw, r)
	if r, ok := h.admit(lw, r); ok {
		h.mux.ServeHTTP(lw, r)
	}
}

// recoverPanic answers 500 for a bug in a handler (the Engine recovers its
// own) and logs it; http.ErrAbortHandler goes on up.
func (h *handler) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	if h.log != nil {
		h.log.LogAttrs(r.Context(), slog.LevelError, "handler panicked",
			slog.String("path", r.URL.Path), slog.String("panic", fmt.Sprint(v)))
	}
	writeError(w, http.StatusInternalServerError, &dredge.Error{Code: dredge.CodeInternal, Message: "internal error"})
}

// admit applies authentication and rate limiting to every route except
// the probes and the console's files. It returns the request with the tenant of its key on its
// context ([dredge.WithTenant]); on refusal it has answered the request
// and returns false.
func (h *handler) admit(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if !h.auth && h.lim == nil {
		return r, true
	}
	if p := r.URL.Path; p == "/health" || p == "/ready" || isUIPath(p) && !h.cfg.DisableUI {
		return r, true
	}
	if !h.auth {
		return r, h.allow(w, h.clientAddr(r), h.cfg.RateLimitRequests, false)
	}
	tenant, quota, msg := h.authenticate(r)
	if msg != "" {
		// Failed attempts count against the client address, so that
		// keys cannot be guessed at full speed.
		if h.lim != nil && !h.allow(w, h.clientAddr(r), h.cfg.RateLimitRequests, false) {
			return r, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="dredge"`)
		writeError(w, http.StatusUnauthorized, &dredge.Error{Code: dredge.CodeUnauthenticated, Message: msg})
		return r, false
	}
	r = r.WithContext(dredge.WithTenant(r.Context(), tenant))
	if h.mon != nil && h.tenantsFor.Load() != h.keys.set.Load() {
		h.syncTenants() // the keys were reloaded
	}
	if h.lim == nil {
		return r, true
	}
	// One bucket per tenant, shared by all of its keys, so that more keys
	// do not mean more requests; its limit is read with the keys at each
	// request, so that a reloaded quota applies to the next one. A NUL
	// never appears in a client address, so tenant buckets and address
	// buckets cannot collide.
	limit := h.cfg.RateLimitRequests
	if quota > 0 {
		limit = quota
	}
	return r, h.allow(w, "\x00tenant "+tenant, limit, quota > 0)
}

// allow takes a token from bucket, whose limit is requests per window, or
// answers 429 with Retry-After and a message naming the limit: the
// tenant's quota (isQuota) or the configured rate limit.
func (h *handler) allow(w http.ResponseWriter, bucket string, requests int, isQuota bool) bool {
	ok, retry := h.lim.allow(bucket, requests)
	if ok {
		return true
	}
	limit := "rate limit"
	if isQuota {
		limit = "tenant quota"
	}
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	writeError(w, http.StatusTooManyRequests, &dredge.Error{Code: dredge.CodeRateLimited,
		Message: fmt.Sprintf("%s of %d requests per %s exceeded; retry after %d s", limit, requests, h.cfg.RateLimitWindow, retry)})
	return false
}

// syncTenants gives the monitor the tenants of the current keys, the only
// names that may become metric labels. It runs once per generation of the
// keys; the lock keeps an older generation from overwriting a newer one.
func (h *handler) syncTenants() {
	h.tenantsMu.Lock()
	defer h.tenantsMu.Unlock()
	s := h.keys.set.Load()
	if h.tenantsFor.Load() == s {
		return
	}
	var names []string
	if s != nil {
		names = s.names
	}
	h.mon.SetTenants(names)
	h.tenantsFor.Store(s)
}

// authenticate returns the tenant of the key the request presents and the
// tenant's quota (0: none), or the reason it is refused. Keys are compared
// as SHA-256 digests in constant time, with every stored digest (APIKeys,
// then the current generation of Keys), so neither their content, their
// length nor their position leaks through timing.
func (h *handler) authenticate(r *http.Request) (tenant string, quota int, refused string) {
	key, ok := presentedKey(r)
	if !ok {
		return "", 0, "missing API key: send it as \"Authorization: Bearer KEY\" or \"X-API-Key: KEY\""
	}
	sum := sha256.Sum256([]byte(key))
	found := h.defaultKeys.find(&sum) >= 0
	var s *keySet
	if h.keys != nil {
		s = h.keys.set.Load()
		if i := s.find(&sum); i >= 0 {
			tenant, found = s.tenants[i], true
		}
	}
	if !found {
		return "", 0, "invalid API key"
	}
	// The default tenant's quota, if the file gives it one, covers the
	// keys of APIKeys too: they are the same tenant.
	return tenant, s.quota(tenant), ""
}

// presentedKey returns the key of "Authorization: Bearer <key>", else of
// "X-API-Key". An Authorization header of another scheme with no
// X-API-Key presents an empty key, which matches none.
func presentedKey(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:]), true
	}
	if k := r.Header.Get("X-API-Key"); k != "" {
		return strings.TrimSpace(k), true
	}
	return "", auth != ""
}

// clientAddr is the client's IP address: the connection's, or with
// TrustProxy the last X-Forwarded-For entry.
func (h *handler) clientAddr(r *http.Request) string {
	if h.cfg.TrustProxy {
		if v := r.Header.Values("X-Forwarded-For"); len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if last = strings.TrimSpace(last); last != "" {
				return last
			}
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// logWriter records the status and size of a response for the access log.
// It passes Flush through and unwraps for http.ResponseController, so that
// streaming responses (the MCP transport's) keep working.
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *logWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher.
func (w *logWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the underlying ResponseWriter.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *logWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
