package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/dredge-cli/dredge/internal/envvar"
)

// Config chooses and configures a backend for [Open].
//
// The zero value is a disabled cache (Enabled false); [ConfigFromEnv] with
// nothing set gives the service default, an enabled memory cache with a
// one-hour TTL.
type Config struct {
	// Enabled turns the cache on. When false, Open returns a [Nop].
	Enabled bool
	// Backend is "memory" (also when ""), "file" or "redis".
	Backend string
	// TTL is the default TTL of every backend. 0 means [DefaultTTL] (one
	// hour); negative means no expiry.
	TTL time.Duration
	// MaxBytes bounds the memory or file backend (see
	// MemoryConfig.MaxBytes and FileConfig.MaxBytes). 0 means their
	// defaults.
	MaxBytes int64
	// FileDir is the directory of the file backend ("" means
	// [DefaultFileDir]).
	FileDir string
	// Redis configures the redis backend. Its DefaultTTL and Logger, when
	// zero, are taken from TTL and Logger.
	Redis RedisConfig
	// Logger receives backend errors (rate limited). nil discards them.
	Logger *slog.Logger
}

// ConfigError reports a bad configuration value. Name is the environment
// variable it came from (or would come from), so that the message tells an
// operator what to fix.
type ConfigError struct {
	Name string // e.g. "CACHE_TTL"
	Err  error
}

func (e *ConfigError) Error() string { return "cache: " + e.Name + ": " + e.Err.Error() }

// Unwrap returns ErrInvalidArgument and the cause.
func (e *ConfigError) Unwrap() []error { return []error{ErrInvalidArgument, e.Err} }

// ConfigFromEnv reads the cache configuration from the environment:
//
//	CACHE_ENABLED   true|false (also 1|0, yes|no, on|off), default true
//	CACHE_BACKEND   memory|file|redis, default memory
//	CACHE_TTL       seconds (decimal) or a Go duration such as 90m,
//	                default 3600; 0 means no expiry
//	CACHE_MAX_BYTES size bound of the memory or file backend in bytes,
//	                default 64 MiB (memory) and 1 GiB (file)
//	FILE_CACHE_DIR  directory of the file backend, default [DefaultFileDir]
//	REDIS_URL       redis://[user:password@]host:port/db (wins over the next)
//	REDIS_HOST      default 127.0.0.1
//	REDIS_PORT      default 6379
//	REDIS_DB        default 0
//	REDIS_PASSWORD
//
// A bad value is a [*ConfigError] naming the variable (its message never
// repeats a password).
func ConfigFromEnv() (Config, error) {
	return configFromLookup(os.LookupEnv)
}

func configFromLookup(lookup envvar.Lookup) (Config, error) {
	r := envvar.Reader{Lookup: lookup, Wrap: func(e *envvar.Error) error { return &ConfigError{Name: e.Name, Err: errors.New(e.Reason())} }}
	cfg := Config{
		Enabled:  r.Bool("CACHE_ENABLED", true),
		Backend:  r.Enum("CACHE_BACKEND", BackendMemory, BackendMemory, BackendFile, BackendRedis),
		TTL:      r.Duration("CACHE_TTL", DefaultTTL, NoExpiry, math.MaxInt64),
		MaxBytes: r.Int64("CACHE_MAX_BYTES", 0, 1, math.MaxInt64),
		FileDir:  r.String("FILE_CACHE_DIR", ""),
	}
	if cfg.Redis.URL = r.String("REDIS_URL", ""); cfg.Redis.URL != "" {
		if _, err := parseRedisURL(cfg.Redis.URL); err != nil {
			r.Add(&ConfigError{Name: "REDIS_URL", Err: err})
		}
	}
	cfg.Redis.Host = r.String("REDIS_HOST", "")
	cfg.Redis.Port = r.Int("REDIS_PORT", 0, 1, 65535)
	cfg.Redis.DB = r.Int("REDIS_DB", 0, 0, math.MaxInt)
	cfg.Redis.Password, _ = lookup("REDIS_PASSWORD") // as set, spaces and all
	return cfg, r.Errs()
}

func checkBackend(b string) error {
	switch b {
	case "", BackendMemory, BackendFile, BackendRedis:
		return nil
	}
	return &ConfigError{Name: "CACHE_BACKEND", Err: fmt.Errorf("unknown backend %q: want memory, file or redis", b)}
}

// Open builds the backend cfg names: a [Nop] when cfg.Enabled is false,
// else a [Memory], [File] or [Redis]. An unknown backend is a
// [*ConfigError] naming CACHE_BACKEND. ctx bounds nothing today beyond an
// early return when it is already done; NewRedis bounds its connect with
// RedisConfig.DialTimeout.
func Open(ctx context.Context, cfg Config) (Cache, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !cfg.Enabled {
		return &Nop{}, nil
	}
	if err := checkBackend(cfg.Backend); err != nil {
		return nil, err
	}
	var (
		c   Cache
		err error
	)
	switch cfg.Backend { // each case checks err: a nil *File in a Cache is not a nil Cache
	case BackendFile:
		var f *File
		if f, err = NewFile(FileConfig{Dir: cfg.FileDir, MaxBytes: cfg.MaxBytes, DefaultTTL: cfg.TTL, Logger: cfg.Logger}); err == nil {
			c = f
		}
	case BackendRedis:
		rc := cfg.Redis
		if rc.DefaultTTL == 0 {
			rc.DefaultTTL = cfg.TTL
		}
		if rc.Logger == nil {
			rc.Logger = cfg.Logger
		}
		var r *Redis
		if r, err = NewRedis(rc); err == nil {
			c = r
		}
	default:
		var m *Memory
		if m, err = NewMemory(MemoryConfig{MaxBytes: cfg.MaxBytes, DefaultTTL: cfg.TTL}); err == nil {
			c = m
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}
