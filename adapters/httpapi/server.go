package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// NewServer returns an http.Server for h on addr with the timeouts of cfg:
// ReadHeaderTimeout (slow clients cannot hold connections by trickling
// headers), IdleTimeout and MaxHeaderBytes. It sets no WriteTimeout, which
// would cut the MCP transport's event streams; operations are bounded by
// the Engine's deadlines instead (see [dredge.WithTimeouts]). The server's own errors go to
// cfg.Logger at level Warn. Its ConnContext lets the handler find the
// connections [Run] wraps.
func NewServer(addr string, h http.Handler, cfg Config) *http.Server {
	cfg, _ = cfg.withDefaults() // only the timeouts are used: they cannot be invalid
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ConnContext:       connContext,
	}
	if cfg.Logger != nil {
		srv.ErrorLog = slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)
	}
	return srv
}

// Run serves srv on ln (nil: listen on srv.Addr) until ctx is done, then
// shuts it down gracefully: it stops accepting connections and waits up to
// grace (≤ 0: [DefaultShutdownTimeout]) for the requests in flight to
// finish before closing the rest. It returns nil after a clean shutdown,
// the error that stopped the server otherwise.
//
// Run wraps the connections it accepts (TLS ones excepted) so that an
// operation's answer too large for net/http's 4 KiB connection buffer
// still leaves in one write, not two or more; other writes, streams
// included, go straight through. A ConnContext hook of srv sees the
// wrapped connection.
func Run(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration) error {
	if ln == nil {
		addr := srv.Addr
		if addr == "" {
			addr = ":http"
		}
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return err
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(coalescingListener{ln}) }()
	select {
	case err := <-served:
		return err // failed before ctx was done
	case <-ctx.Done():
	}
	if grace <= 0 {
		grace = DefaultShutdownTimeout
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(err, srv.Close())
	}
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
