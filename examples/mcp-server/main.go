package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/httpapi"
	"github.com/dredge-cli/dredge/adapters/mcp"
	"github.com/dredge-cli/dredge/internal/envvar"
	"github.com/dredge-cli/dredge/internal/memlimit"
	"github.com/dredge-cli/dredge/workers"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-server:", err)
		os.Exit(1)
	}
}

func run() error {
	transport := flag.String("transport", "stdio", "stdio or http")
	addr := flag.String("addr", defaultAddr(), "listen address of -transport http")
	origins := flag.String("allowed-origins", os.Getenv("MCP_ALLOWED_ORIGINS"), "comma-separated origins that browsers may call -transport http from, besides its own")
	stateless := flag.Bool("stateless", false, "-transport http: serve without sessions")
	flag.Parse()

	r := envvar.Reader{Lookup: os.LookupEnv}
	level := r.Level("LOG_LEVEL", slog.LevelInfo)
	if err := r.Err(); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	eng, err := dredge.New(dredge.FromEnv(), dredge.WithLogger(logger))
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := eng.Shutdown(ctx); err != nil {
			logger.Error("engine shutdown", "error", err)
		}
	}()
	// Go's soft memory limit from the model memory budget (unless GOMEMLIMIT
	// is set): the collector works harder before the kernel would kill.
	if limit := memlimit.SetGoLimit(eng.SoftMemoryLimit()); limit > 0 {
		logger.Debug("soft memory limit", "bytes", limit)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The job tools' queue (QUEUE_BACKEND, NUM_WORKERS, …: the service's
	// settings); with redis and NUM_WORKERS=0 the jobs run elsewhere.
	queue, pool, err := openJobs(ctx, eng, logger)
	if err != nil {
		return err
	}
	defer queue.Close()
	if pool != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := pool.Shutdown(sctx); err != nil {
				logger.Warn("jobs still running at shutdown were stopped", "error", err)
			}
		}()
	}

	opts := mcp.Options{Logger: logger, Jobs: queue}
	switch *transport {
	case "stdio":
		err := mcp.NewServer(eng, &opts).Run(ctx, &sdk.StdioTransport{})
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	case "http":
		// The service's authentication: AUTH_ENABLED, API_KEY,
		// API_KEYS_FILE (reloaded on SIGHUP), RATE_LIMIT_*.
		cfg, err := httpapi.ConfigFromEnv()
		if err != nil {
			return err
		}
		cfg.Logger = logger
		// The keys file's tenants label the metrics, as in the service.
		var labelTenants func()
		if cfg.Keys != nil {
			labelTenants = func() { eng.Monitor().SetTenants(cfg.Keys.Tenants()) }
			labelTenants()
		}
		httpapi.ReloadKeysOnHangup(ctx, cfg.Keys, logger, labelTenants)
		return serveHTTP(ctx, eng, cfg, *addr, &mcp.HTTPOptions{Options: opts, AllowedOrigins: split(*origins), Stateless: *stateless})
	}
	return fmt.Errorf("-transport: want stdio or http, got %q", *transport)
}

// openJobs opens the queue workers.ConfigFromEnv names and starts a pool
// on it unless NUM_WORKERS × WORKER_CONCURRENCY is 0.
func openJobs(ctx context.Context, eng *dredge.Engine, logger *slog.Logger) (workers.Queue, *workers.Pool, error) {
	wcfg, err := workers.ConfigFromEnv()
	if err != nil {
		return nil, nil, err
	}
	queue, err := workers.Open(ctx, wcfg)
	if err != nil {
		return nil, nil, err
	}
	var pool *workers.Pool
	if n := wcfg.Workers * wcfg.Concurrency; n > 0 {
		pool = workers.NewPool(eng, queue, workers.PoolConfig{Concurrency: n, Logger: logger})
		pool.Start()
	}
	return queue, pool, nil
}

func serveHTTP(ctx context.Context, eng *dredge.Engine, cfg httpapi.Config, addr string, opts *mcp.HTTPOptions) error {
	logger := cfg.Logger
	mux, h, err := newMux(eng, cfg, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(h.CloseSessions) // ends open event streams
	logger.Info("serving MCP over Streamable HTTP", "addr", ln.Addr().String(), "path", "/mcp", "auth", cfg.AuthEnabled)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return srv.Close()
	}
	return nil
}

// newMux routes /mcp to the MCP transport and GET / to the capabilities,
// as the original's MCP server answered there, both behind the HTTP
// service's authentication and rate limiting (cfg): a session is bound to
// the tenant of its API key.
func newMux(eng *dredge.Engine, cfg httpapi.Config, opts *mcp.HTTPOptions) (http.Handler, *mcp.HTTPHandler, error) {
	h, err := mcp.NewHTTPHandler(eng, opts)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", h)
	mux.Handle("GET /{$}", mcp.NewIndexHandler(eng))
	probes := httpapi.Probes(eng, cfg.Logger)
	for _, p := range []string{"GET /health", "GET /ready", "GET /metrics"} {
		mux.Handle(p, probes)
	}
	protected, err := httpapi.Protect(mux, cfg)
	if err != nil {
		return nil, nil, err
	}
	return protected, h, nil
}

func defaultAddr() string { return ":" + envOr("MCP_SERVER_PORT", "3002") }

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
