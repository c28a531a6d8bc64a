package dredge

import (
	"os"
	"time"

	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/internal/envvar"
	"github.com/dredge-cli/dredge/monitor"
	"github.com/dredge-cli/dredge/stringtheory"
)

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
