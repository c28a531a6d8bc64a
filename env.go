package dredge

import (
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"

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
//     [WithMaxConcurrentHeavy]).
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

func fromEnv(c *config, lookup func(string) (string, bool)) error {
	if v, ok := lookup("DEVICE"); ok && strings.TrimSpace(v) != "" {
		switch k := strings.ToLower(strings.TrimSpace(v)); k {
		case "auto", "cpu", "cuda", "gpu":
			c.deviceKind = k
		default:
			return invalid("DEVICE", "must be auto, cpu or cuda, got %q", truncate(v, 32))
		}
	}
	if v, ok := lookup("MODEL_MEMORY_LIMIT"); ok && strings.TrimSpace(v) != "" {
		n, err := humanize.ParseBytes(strings.TrimSpace(v))
		if err != nil || n < 1 || n > math.MaxInt64 {
			return invalid("MODEL_MEMORY_LIMIT", "must be a size in bytes such as 8GiB or 500MB, got %q", truncate(v, 32))
		}
		c.modelMemory = int64(n)
	}
	var err error
	if c.maxHeavy, err = envInt(lookup, "MAX_CONCURRENT_HEAVY", c.maxHeavy, 1, 1<<16); err != nil {
		return err
	}
	d := c.stringNN
	if d.NumLayers, err = envInt(lookup, "STRING_NN_LAYERS", d.NumLayers, 1, stringtheory.MaxLayers); err != nil {
		return err
	}
	if d.HiddenSize, err = envInt(lookup, "STRING_NN_HIDDEN", d.HiddenSize, 1, stringtheory.MaxHidden); err != nil {
		return err
	}
	if d.UseBatchNorm, err = envBool(lookup, "STRING_NN_BATCH_NORM", d.UseBatchNorm); err != nil {
		return err
	}
	return WithStringNNDefaults(d).apply(c)
}

func envInt(lookup func(string) (string, bool), name string, def, lo, hi int) (int, error) {
	v, ok := lookup(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, invalid(name, "must be an integer, got %q", truncate(v, 32))
	}
	if n < lo || n > hi {
		return 0, invalid(name, "must be between %d and %d, got %d", lo, hi, n)
	}
	return n, nil
}

func envBool(lookup func(string) (string, bool), name string, def bool) (bool, error) {
	v, ok := lookup(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	b, err := envvar.ParseBool(v)
	if err != nil {
		return false, invalid(name, "must be true or false, got %q", truncate(v, 32))
	}
	return b, nil
}
