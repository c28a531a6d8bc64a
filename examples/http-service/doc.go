// Command http-service serves DREDGE over HTTP: the REST operations, the
// legacy POST /mcp endpoint, /lift, /health, /ready and /metrics (see
// package github.com/dredge-cli/dredge/adapters/httpapi).
//
// Usage:
//
//	http-service [-addr :3001]
//
// Everything else comes from the environment: the Engine's variables
// (DEVICE, CACHE_*, REDIS_*, METRICS_ENABLED, REQUEST_TIMEOUT, … see
// dredge.FromEnv), the service's (AUTH_ENABLED, API_KEY, API_KEYS_FILE,
// RATE_LIMIT_*, MAX_BODY_BYTES, TRUST_PROXY, see httpapi.ConfigFromEnv)
// and LOG_LEVEL (debug|info|warn|error, default info) for the JSON logs on
// stderr. SIGINT or SIGTERM stops it gracefully: requests in flight finish.
package main
