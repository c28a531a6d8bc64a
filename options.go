package dredge

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/internal/envvar"
	"github.com/dredge-cli/dredge/monitor"
	"github.com/dredge-cli/dredge/stringtheory"
)

// Option configures an [Engine]. Options are applied in order, so a later
// option overrides an earlier one.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// StringNNDefaults are the string-theory MLP's defaults used by load_model
// when the request's config leaves them out (STRING_NN_* variables).
type StringNNDefaults struct {
	// NumLayers is the hidden layer count, 1..10 (0: 2).
	NumLayers int
	// HiddenSize is the hidden width (0: 64).
	HiddenSize int
	// UseBatchNorm adds batch normalisation before each tanh.
	UseBatchNorm bool
}

type config struct {
	device     accel.Device
	deviceKind string
	logger     *slog.Logger
	stringNN   StringNNDefaults
	maxModels  int
	cache      cache.Cache
	cacheCfg   *cache.Config
	cacheSet   bool
	monitor    *monitor.Monitor
	monitorCfg *monitor.Config
	monitorSet bool

	modelMemory int64
	maxHeavy    int

	requestTimeout, longTimeout time.Duration // 0: the default; < 0: none
}

// The deadlines an Engine gives operation calls by default (see
// [WithTimeouts]).
const (
	DefaultRequestTimeout     = 30 * time.Second
	DefaultLongRequestTimeout = 10 * time.Minute
)

// WithTimeouts sets the deadlines the Engine gives each operation call,
// whichever adapter makes it: request for ordinary operations, long for
// long-running ones ([Operation.LongRunning]: training). A caller's earlier
// deadline stays. 0 keeps the default ([DefaultRequestTimeout],
// [DefaultLongRequestTimeout]); a negative duration means no deadline.
// A call past its deadline fails with CodeUnavailable; training stops
// within one epoch of it.
func WithTimeouts(request, long time.Duration) Option {
	return optionFunc(func(c *config) error {
		c.requestTimeout, c.longTimeout = request, long
		return nil
	})
}

// WithDevice makes the Engine run its models on dev. It takes precedence
// over [WithDeviceKind]. The Engine does not close a device it was given.
func WithDevice(dev accel.Device) Option {
	return optionFunc(func(c *config) error {
		if dev == nil {
			return fmt.Errorf("%w: WithDevice(nil)", ErrInvalidArgument)
		}
		c.device = dev
		return nil
	})
}

// WithDeviceKind selects the device by kind: "auto" (the default), "cpu" or
// "cuda" (see [accel.Open] for the fallback rules).
func WithDeviceKind(kind string) Option {
	return optionFunc(func(c *config) error {
		c.deviceKind = kind
		return nil
	})
}

// WithLogger sets the logger for warnings and errors the Engine cannot
// return (the default discards them).
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l != nil {
			c.logger = l
		}
		return nil
	})
}

// WithStringNNDefaults sets the string-theory MLP's defaults.
func WithStringNNDefaults(d StringNNDefaults) Option {
	return optionFunc(func(c *config) error {
		if d.NumLayers != 0 && (d.NumLayers < 1 || d.NumLayers > stringtheory.MaxLayers) {
			return invalid("STRING_NN_LAYERS", "must be between 1 and %d, got %d", stringtheory.MaxLayers, d.NumLayers)
		}
		if d.HiddenSize != 0 && (d.HiddenSize < 1 || d.HiddenSize > stringtheory.MaxHidden) {
			return invalid("STRING_NN_HIDDEN", "must be between 1 and %d, got %d", stringtheory.MaxHidden, d.HiddenSize)
		}
		c.stringNN = d
		return nil
	})
}

// WithMaxModels bounds the number of models loaded at once (default 10,000).
func WithMaxModels(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return invalid("max_models", "must be ≥ 1, got %d", n)
		}
		c.maxModels = n
		return nil
	})
}

// WithCache makes the Engine cache results in c (the Engine does not close
// it). WithCache(nil) disables caching. By default an Engine caches in a
// memory cache of its own.
func WithCache(c cache.Cache) Option {
	return optionFunc(func(cfg *config) error {
		cfg.cache, cfg.cacheCfg, cfg.cacheSet = c, nil, true
		return nil
	})
}

// WithCacheConfig makes the Engine open (and own) a cache from cfg; a
// zero cfg (Enabled false) disables caching.
func WithCacheConfig(c cache.Config) Option {
	return optionFunc(func(cfg *config) error {
		cfg.cache, cfg.cacheCfg, cfg.cacheSet = nil, &c, true
		return nil
	})
}

// WithMonitor instruments the Engine through m: a span and metrics per
// operation, cache hits and misses, models loaded and training epochs. The
// Engine does not shut m down. WithMonitor(nil) turns instrumentation off.
// By default an Engine has a monitor of its own with metrics on and spans
// not exported.
func WithMonitor(m *monitor.Monitor) Option {
	return optionFunc(func(c *config) error {
		c.monitor, c.monitorCfg, c.monitorSet = m, nil, true
		return nil
	})
}

// WithMonitorConfig makes the Engine create (and shut down) a monitor from cfg.
func WithMonitorConfig(cfg monitor.Config) Option {
	return optionFunc(func(c *config) error {
		c.monitor, c.monitorCfg, c.monitorSet = nil, &cfg, true
		return nil
	})
}

// WithModelMemoryLimit sets the memory budget of loaded models in bytes
// (MODEL_MEMORY_LIMIT). A load that would pass it fails with
// [CodeResourceExhausted]; models already loaded stay. Running trainings
// are charged too while they run. 0 keeps the default:
// [ModelMemoryFraction] of the memory the process may use, or
// [DefaultModelMemoryLimit] where that is unknown.
func WithModelMemoryLimit(bytes int64) Option {
	return optionFunc(func(c *config) error {
		if bytes < 0 {
			return invalid("MODEL_MEMORY_LIMIT", "must not be negative, got %d", bytes)
		}
		c.modelMemory = bytes
		return nil
	})
}

// WithMaxConcurrentHeavy bounds the heavy calls (training, and inferences of
// at least [HeavyWork]) that run at once (MAX_CONCURRENT_HEAVY; 0: GOMAXPROCS).
// Others wait for a turn until their context is done, then fail with
// [CodeUnavailable]. Light calls never wait for heavy ones.
func WithMaxConcurrentHeavy(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 0 {
			return invalid("MAX_CONCURRENT_HEAVY", "must not be negative, got %d", n)
		}
		c.maxHeavy = n
		return nil
	})
}

// FromEnv returns an option that configures the Engine from the
// environment variables of the original's .env.example:
//
//   - DEVICE: auto (default), cpu or cuda;
//   - STRING_NN_LAYERS, STRING_NN_HIDDEN, STRING_NN_BATCH_NORM: the
//     string-theory MLP's defaults;
//   - CACHE_ENABLED, CACHE_BACKEND, CACHE_TTL, CACHE_MAX_BYTES,
//     FILE_CACHE_DIR, REDIS_URL or REDIS_HOST/REDIS_PORT/REDIS_DB/
//     REDIS_PASSWORD: the result cache (see [cache.ConfigFromEnv]); a Redis
//     cache connects lazily, so the Engine starts while Redis is down and
//     serves uncached until it is back;
//   - METRICS_ENABLED, TRACING_ENABLED, OTEL_EXPORTER_OTLP_ENDPOINT: the
//     monitor (see [monitor.ConfigFromEnv]);
//   - MODEL_MEMORY_LIMIT: the loaded models' memory budget in bytes, with an
//     optional unit (KB, MB, GB in powers of 1000; KiB, MiB, GiB in powers
//     of 1024), e.g. 8GiB (see [WithModelMemoryLimit]);
//   - MAX_CONCURRENT_HEAVY: heavy calls that run at once (see
//     [WithMaxConcurrentHeavy]);
//   - REQUEST_TIMEOUT, LONG_REQUEST_TIMEOUT: the deadlines of ordinary and
//     long-running (training) operation calls in seconds, default 30 and
//     600; 0 turns a deadline off (see [WithTimeouts]).
//
// Unset variables keep the defaults; a malformed value makes [New] fail
// with an error naming the variable. Options after FromEnv override it.
func FromEnv() Option {
	return optionFunc(func(c *config) error {
		if err := fromEnv(c, os.LookupEnv); err != nil {
			return err
		}
		cc, err := cache.ConfigFromEnv()
		if err != nil {
			return err
		}
		cc.Redis.LazyConnect = true
		if err := WithCacheConfig(cc).apply(c); err != nil {
			return err
		}
		mc, err := monitor.ConfigFromEnv()
		if err != nil {
			return err
		}
		return WithMonitorConfig(mc).apply(c)
	})
}

func fromEnv(c *config, lookup envvar.Lookup) error {
	r := envvar.Reader{Lookup: lookup, Wrap: func(e *envvar.Error) error { return invalid(e.Name, "%s", e.Reason()) }}
	c.deviceKind = r.Enum("DEVICE", c.deviceKind, "auto", "cpu", "cuda", "gpu")
	c.modelMemory = r.Bytes("MODEL_MEMORY_LIMIT", c.modelMemory)
	c.maxHeavy = r.Int("MAX_CONCURRENT_HEAVY", c.maxHeavy, 1, 1<<16)
	const maxTimeout = 365 * 24 * time.Hour
	c.requestTimeout = r.Seconds("REQUEST_TIMEOUT", c.requestTimeout, -1, maxTimeout) // 0: none
	c.longTimeout = r.Seconds("LONG_REQUEST_TIMEOUT", c.longTimeout, -1, maxTimeout)
	d := c.stringNN
	d.NumLayers = r.Int("STRING_NN_LAYERS", d.NumLayers, 1, stringtheory.MaxLayers)
	d.HiddenSize = r.Int("STRING_NN_HIDDEN", d.HiddenSize, 1, stringtheory.MaxHidden)
	d.UseBatchNorm = r.Bool("STRING_NN_BATCH_NORM", d.UseBatchNorm)
	if err := r.Err(); err != nil {
		return err
	}
	return WithStringNNDefaults(d).apply(c)
}
