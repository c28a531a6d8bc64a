package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/httpapi"
	"github.com/dredge-cli/dredge/internal/envvar"
	"github.com/dredge-cli/dredge/internal/memlimit"
	"github.com/dredge-cli/dredge/monitor"
	"github.com/dredge-cli/dredge/workers"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	r := envvar.Reader{Lookup: os.LookupEnv}
	level := r.Level("LOG_LEVEL", slog.LevelInfo)
	port := r.Int("METRICS_PORT", 9090, 0, 65535)
	grace := r.Seconds("SHUTDOWN_TIMEOUT", 30*time.Second, 30*time.Second, 24*time.Hour)
	if err := r.Err(); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	wcfg, err := workers.ConfigFromEnv()
	if err != nil {
		return err
	}
	// Set but empty is unset, as for every variable.
	if v := os.Getenv("QUEUE_BACKEND"); v != "" && wcfg.Backend != "redis" {
		return fmt.Errorf("QUEUE_BACKEND: a worker process runs the jobs of a shared queue: want redis (or unset), got %q", v)
	}
	if wcfg.Workers == 0 {
		return errors.New("NUM_WORKERS: a worker process needs at least one worker")
	}
	wcfg.Backend = "redis"

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	eng, err := dredge.New(dredge.FromEnv(), dredge.WithLogger(logger))
	if err != nil {
		return err
	}
	defer eng.Close()
	memlimit.SetGoLimit(eng.SoftMemoryLimit())
	if err := labelTenants(ctx, eng.Monitor(), logger); err != nil {
		return err
	}
	queue, err := workers.Open(ctx, wcfg)
	if err != nil {
		return err
	}
	defer queue.Close()

	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return fmt.Errorf("METRICS_PORT: %w", err)
	}
	srv := &http.Server{Handler: handler(eng, queue), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server failed", "error", err)
		}
	}()

	n := wcfg.Workers * wcfg.Concurrency
	var jobs workers.Queue = queue
	if logger.Enabled(ctx, slog.LevelDebug) {
		jobs = jobLog{Queue: queue, log: logger}
	}
	pool := workers.NewPool(eng, jobs, workers.PoolConfig{Concurrency: n, Logger: logger})
	pool.Start()
	logger.Info("running", "version", dredge.Version, "device", eng.Device().Info().Name,
		"metrics", ln.Addr().String(), "workers", wcfg.Workers, "worker_concurrency", wcfg.Concurrency)
	<-ctx.Done()
	logger.Info("stopping: running jobs finish or go back to the queue", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := pool.Shutdown(sctx); err != nil {
		logger.Warn("jobs still running at the end of the grace period were handed back", "error", err)
	}
	_ = srv.Shutdown(sctx)
	logger.Info("stopped")
	return nil
}

// handler serves /health (the queue reachable: 200, else 503) and
// /metrics.
func handler(eng *dredge.Engine, q workers.Queue) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		body := map[string]any{"status": "healthy", "version": dredge.Version}
		code := http.StatusOK
		if n, err := q.Depth(ctx); err != nil {
			body["status"], body["error"] = "unhealthy", err.Error()
			code = http.StatusServiceUnavailable
		} else {
			body["queue_depth"] = n
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.Handle("GET /metrics", eng.Monitor().Handler())
	return mux
}

// labelTenants gives the monitor the tenants of API_KEYS_FILE, if set, as
// the service does, so that /metrics counts each tenant's jobs under its
// label; it reads the file again on each SIGHUP. The worker takes no keys:
// it only learns the tenants' names. A file that does not load at start
// is an error; on SIGHUP it leaves the names as they were.
func labelTenants(ctx context.Context, mon *monitor.Monitor, logger *slog.Logger) error {
	path := os.Getenv("API_KEYS_FILE")
	if path == "" {
		return nil
	}
	keys, err := httpapi.LoadKeys(path)
	if err != nil {
		return err
	}
	mon.SetTenants(keys.Tenants())
	httpapi.ReloadKeysOnHangup(ctx, keys, logger, func() { mon.SetTenants(keys.Tenants()) })
	return nil
}
