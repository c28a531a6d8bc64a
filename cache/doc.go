// Package cache stores computed results: a small [Cache] interface with
// three implementations, a [ResultCache] with typed keys on top, and the
// configuration that picks one.
//
// # The interface
//
// A [Cache] maps non-empty string keys to byte values with a TTL. A miss is
// [ErrNotFound]; a backend that cannot be reached is [ErrUnavailable]; calls
// on a closed cache are [ErrClosed]; an empty key or bad configuration is
// [ErrInvalidArgument]. Every method takes a context first and is safe for
// concurrent use; Close is idempotent. [Stats] reports hits, misses, the hit
// rate, entries, the default TTL and errors, with the JSON names of the
// get_cache_stats operation.
//
// Package [github.com/dredge-cli/dredge/cache/cachetest] holds the
// conformance suite every implementation passes.
//
// # Backends
//
//   - [Memory] ([NewMemory]): in process, on ristretto; bounded by bytes,
//     TinyLFU admission. A Set is visible to the next Get.
//   - [File] ([NewFile]): one file per key, named by the SHA-256 of the key;
//     atomic writes (temporary file and rename), TTL in the file header, a
//     CRC so that corrupt or truncated files are misses (and removed), a size
//     bound that evicts the oldest files. Several processes may share a
//     directory.
//   - [Redis] ([NewRedis]): a Redis server or Redis Cluster through rueidis,
//     auto-pipelined, TTL as PX milliseconds, a key prefix, optional
//     client-side caching. Clear SCANs every node for the prefix and UNLINKs.
//   - [Nop]: the disabled cache.
//
// # Faults
//
// The Redis backend bounds every call by a short timeout (200ms by
// default). When Redis is unreachable, calls fail with an error wrapping
// [ErrUnavailable] within that timeout, count in Stats.Errors and are logged
// at most once per interval through the configured [log/slog.Logger]; for a
// short retry interval after a failure they fail at once; then they try the
// server again, and rueidis reconnects when it is back. NewRedis fails when
// the server is down unless RedisConfig.LazyConnect is set.
//
// [ResultCache] turns every such error into a miss (and drops failed
// Sets), so that an operation never fails because of its cache.
//
// # Result keys
//
// [KeyOf] names a result by a kind, a format version and the
// [Fingerprint] of its parameters: a SHA-256 over a canonical binary
// encoding (float64 bits, struct fields by name, map entries sorted), so
// equal parameters give equal keys whatever the map order. [GetJSON],
// [SetJSON] and [GetOrCompute] store results as JSON. (The Engine makes
// its own keys, with each operation's key function.)
//
// # Configuration
//
// [ConfigFromEnv] reads CACHE_ENABLED, CACHE_BACKEND, CACHE_TTL,
// FILE_CACHE_DIR and REDIS_URL (or REDIS_HOST, REDIS_PORT, REDIS_DB,
// REDIS_PASSWORD) into a [Config]; bad values are a [*ConfigError] naming
// the variable. [Open] builds the backend a Config names.
package cache
