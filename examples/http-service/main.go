package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/httpapi"
	"github.com/dredge-cli/dredge/adapters/mcp"
	"github.com/dredge-cli/dredge/internal/envvar"
	"github.com/dredge-cli/dredge/internal/memlimit"
	"github.com/dredge-cli/dredge/workers"
)

func main() {
	port := os.Getenv("DREDGE_SERVER_PORT")
	if port == "" {
		port = "3001"
	}
	addr := flag.String("addr", ":"+port, "listen address")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "http-service:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	r := envvar.Reader{Lookup: os.LookupEnv}
	level := r.Level("LOG_LEVEL", slog.LevelInfo)
	if err := r.Err(); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// A Redis cache connects lazily: the service starts while Redis is down
	// and /ready reports 503 until it answers.
	eng, err := dredge.New(dredge.FromEnv(), dredge.WithLogger(logger))
	if err != nil {
		return err
	}
	defer eng.Close()
	// Go's soft memory limit from the model memory budget (unless GOMEMLIMIT
	// is set): the collector works harder before the kernel would kill.
	if limit := memlimit.SetGoLimit(eng.SoftMemoryLimit()); limit > 0 {
		logger.Debug("soft memory limit", "bytes", limit)
	}

	cfg, err := httpapi.ConfigFromEnv()
	if err != nil {
		return err
	}
	cfg.Logger = logger
	httpapi.ReloadKeysOnHangup(ctx, cfg.Keys, logger, nil)
	wcfg, err := workers.ConfigFromEnv()
	if err != nil {
		return err
	}
	queue, err := workers.Open(ctx, wcfg)
	if err != nil {
		return err
	}
	defer queue.Close()
	cfg.Jobs = queue
	// The real MCP transport (Streamable HTTP) shares POST /mcp with the
	// original's {"operation", "params"} JSON: httpapi dispatches by body
	// shape. Its job tools use the same queue as /v1/jobs.
	mcpHandler, err := mcp.NewHTTPHandler(eng, &mcp.HTTPOptions{Options: mcp.Options{Logger: logger, Jobs: queue}})
	if err != nil {
		return err
	}
	cfg.MCP = mcpHandler
	h, err := httpapi.New(eng, cfg)
	if err != nil {
		return err
	}
	// NUM_WORKERS=0: the service only enqueues.
	var pool *workers.Pool
	if n := wcfg.Workers * wcfg.Concurrency; n > 0 {
		pool = workers.NewPool(eng, queue, workers.PoolConfig{Concurrency: n, Logger: logger})
		pool.Start()
	}
	srv := httpapi.NewServer(addr, h, cfg)
	srv.RegisterOnShutdown(mcpHandler.CloseSessions)
	logger.Info("listening", "addr", addr, "version", dredge.Version, "device", eng.Device().Info().Name,
		"auth", cfg.AuthEnabled, "rate_limit", cfg.RateLimitEnabled,
		"queue", wcfg.Backend, "workers", wcfg.Workers, "worker_concurrency", wcfg.Concurrency)
	// One grace period for the whole shutdown, counted from the signal:
	// draining requests, then jobs (a platform's termination grace, such
	// as Kubernetes' 30 s, covers both).
	stopping := make(chan time.Time, 1)
	go func() { <-ctx.Done(); stopping <- time.Now() }()
	err = httpapi.Run(ctx, srv, nil, cfg.ShutdownTimeout)
	// No request enqueues any more: the pool finishes its running jobs
	// within what is left of the grace period, before the Engine closes
	// (deferred above).
	if pool != nil {
		at := time.Now()
		select {
		case at = <-stopping:
		default:
		}
		sctx, cancel := context.WithDeadline(context.Background(), at.Add(cfg.ShutdownTimeout))
		if perr := pool.Shutdown(sctx); perr != nil {
			logger.Warn("jobs still running at the end of the grace period were stopped", "error", perr)
		}
		cancel()
	}
	if wcfg.Backend == "memory" { // a shared queue keeps its jobs
		if n, derr := queue.Depth(context.Background()); derr == nil && n > 0 {
			logger.Warn("pending jobs dropped: the memory queue does not outlive the process", "jobs", n)
		}
	}
	logger.Info("stopped")
	return err
}
