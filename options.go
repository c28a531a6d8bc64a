package dredge

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/internal/envvar"
	"github.com/dredge-cli/dredge/modelstore"
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
	tenants     TenantLimits

	modelStore    modelstore.Store // given: not closed by the Engine
	modelStoreEnv *modelStoreEnv   // from the environment: opened and closed by the Engine

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

// TenantLimits bound what each tenant (see [WithTenant]) may hold at once.
// They apply to every tenant, the default tenant "" included; 0 means no
// limit. A call past a limit fails with CodeResourceExhausted (HTTP 429)
// and a message that names the limit.
type TenantLimits struct {
	// Models bounds a tenant's loaded models (TENANT_MAX_MODELS). With a
	// model store it counts the tenant's stored models, on every node:
	// loads on one Engine are counted one at a time, but loads on several
	// nodes at one instant may each pass the count.
	Models int
	// Trainings bounds a tenant's trainings (benchmark calls) running at
	// once on this Engine (TENANT_MAX_TRAININGS).
	Trainings int
}

// WithTenantLimits sets the limits of each tenant (see [TenantLimits]).
func WithTenantLimits(l TenantLimits) Option {
	return optionFunc(func(c *config) error {
		if l.Models < 0 {
			return invalid("TENANT_MAX_MODELS", "must be ≥ 0, got %d", l.Models)
		}
		if l.Trainings < 0 {
			return invalid("TENANT_MAX_TRAININGS", "must be ≥ 0, got %d", l.Trainings)
		}
		c.tenants = l
		return nil
	})
}

// WithMaxModels bounds the number of models loaded at once (default 10,000).
// With [WithModelStore] it bounds this Engine's copies of stored models
// instead: the least recently used copy is evicted to make room.
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

// WithModelStore keeps the Engine's models in store, shared with every
// Engine (every node) that uses the same store: load_model stores the new
// model under an id unique across them; benchmark with a model_id stores
// the trained parameters as a new version; unload_model deletes the model
// for all; list_models lists the store's models. inference,
// get_parameters, benchmark and unload_model answer for any stored model,
// whichever node loaded it: the Engine fetches a copy, charged to the
// model memory budget as load_model charges a model, and keeps at most
// [WithMaxModels] copies, the least recently used making room (also when
// the budget is short).
//
// Staleness: every call that names a model_id reads the stored version
// once before it starts ([modelstore.Store.Version] says what that costs)
// and, where its copy is older, fetches the stored parameters first. A
// call therefore sees every update (training on any node) that finished
// before it started; one that finishes while it runs is seen by the next call. The
// inference cache is keyed by the parameters' fingerprint, so an answer
// of old parameters is never served after an update, on any node. A model
// unloaded on another node is not_found at this node's next call.
//
// Concurrent trainings of one model on two nodes are last-writer-wins: the
// later Update's parameters are the model's, the other training's are lost.
//
// The store must be durable. A store that forgets its models but is used
// again (a Redis flushed, or restarted without persistence) counts ids and
// versions from the start again, so a node's old copy of a model could
// answer for a new model that got the same id and version.
//
// A store that fails (Redis down) fails those calls with CodeUnavailable;
// the Engine does not answer from a copy it cannot check. The Engine does
// not close a store it was given. WithModelStore(nil) keeps the default:
// models live in the Engine alone, ids "<model_type>_<n>" counted by it.
func WithModelStore(store modelstore.Store) Option {
	return optionFunc(func(c *config) error {
		c.modelStore, c.modelStoreEnv = store, nil
		return nil
	})
}

// Kinds of model store for MODEL_STORE.
const (
	ModelStoreMemory = "memory"
	ModelStoreDir    = "dir"
	ModelStoreRedis  = "redis"
)

// modelStoreEnv is the model store the environment asks for.
type modelStoreEnv struct {
	kind   string
	dir    string
	prefix string
	redis  cache.RedisConfig // the connection (REDIS_URL, REDIS_HOST, …)
}

// open opens the store; nil for memory (the Engine's own registry).
func (m *modelStoreEnv) open() (modelstore.Store, error) {
	switch m.kind {
	case ModelStoreDir:
		if m.dir == "" {
			return nil, invalid("MODEL_STORE_DIR", "is required with MODEL_STORE=dir")
		}
		s, err := modelstore.NewDir(m.dir)
		if err != nil {
			return nil, invalid("MODEL_STORE_DIR", "%v", err)
		}
		return s, nil
	case ModelStoreRedis:
		opt, err := m.redis.ClientOption()
		if err != nil {
			return nil, invalid("REDIS_URL", "%v", err)
		}
		s, err := modelstore.NewRedis(modelstore.RedisConfig{Option: opt, Prefix: m.prefix})
		if err != nil {
			return nil, invalid("MODEL_STORE_PREFIX", "%v", err)
		}
		return s, nil
	}
	return nil, nil
}

// openModelStore sets up the model store from the configuration.
func (e *Engine) openModelStore(c *config) error {
	e.modelStore = c.modelStore
	if c.modelStoreEnv == nil {
		return nil
	}
	s, err := c.modelStoreEnv.open()
	if err != nil || s == nil {
		return err
	}
	e.modelStore = s
	e.closers = append(e.closers, func(context.Context) error { return s.Close() })
	return nil
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
//   - TENANT_MAX_MODELS, TENANT_MAX_TRAININGS: each tenant's loaded
//     models and running trainings, 0 (the default) for no limit (see
//     [WithTenantLimits]);
//   - REQUEST_TIMEOUT, LONG_REQUEST_TIMEOUT: the deadlines of ordinary and
//     long-running (training) operation calls in seconds, default 30 and
//     600; 0 turns a deadline off (see [WithTimeouts]);
//   - MODEL_STORE: where loaded models are kept (see [WithModelStore]):
//     memory (the default without MODEL_STORE_DIR: in the Engine alone),
//     dir (the default with MODEL_STORE_DIR: the directory
//     MODEL_STORE_DIR, so that a single node keeps its models across
//     restarts; see [modelstore.Dir]) or redis (shared by every node on
//     the Redis server of REDIS_URL or REDIS_HOST/REDIS_PORT/REDIS_DB/
//     REDIS_PASSWORD, under the key prefix MODEL_STORE_PREFIX, default
//     "dredge:models:"; see [modelstore.Redis]). A Redis store connects
//     on first use, so the Engine starts while Redis is down, and model
//     calls fail with CodeUnavailable until it is back.
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
		if c.modelStoreEnv != nil {
			c.modelStoreEnv.redis = cc.Redis
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
	c.tenants.Models = r.Int("TENANT_MAX_MODELS", c.tenants.Models, 0, 1<<30)
	c.tenants.Trainings = r.Int("TENANT_MAX_TRAININGS", c.tenants.Trainings, 0, 1<<30)
	const maxTimeout = 365 * 24 * time.Hour
	c.requestTimeout = r.Seconds("REQUEST_TIMEOUT", c.requestTimeout, -1, maxTimeout) // 0: none
	c.longTimeout = r.Seconds("LONG_REQUEST_TIMEOUT", c.longTimeout, -1, maxTimeout)
	ms := &modelStoreEnv{dir: r.String("MODEL_STORE_DIR", ""), prefix: r.String("MODEL_STORE_PREFIX", "")}
	kind := ModelStoreMemory
	if ms.dir != "" {
		kind = ModelStoreDir
	}
	ms.kind = r.Enum("MODEL_STORE", kind, ModelStoreMemory, ModelStoreDir, ModelStoreRedis)
	if ms.kind != ModelStoreMemory {
		c.modelStore, c.modelStoreEnv = nil, ms
	}
	d := c.stringNN
	d.NumLayers = r.Int("STRING_NN_LAYERS", d.NumLayers, 1, stringtheory.MaxLayers)
	d.HiddenSize = r.Int("STRING_NN_HIDDEN", d.HiddenSize, 1, stringtheory.MaxHidden)
	d.UseBatchNorm = r.Bool("STRING_NN_BATCH_NORM", d.UseBatchNorm)
	if err := r.Err(); err != nil {
		return err
	}
	return WithStringNNDefaults(d).apply(c)
}
