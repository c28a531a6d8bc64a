// Command mcp-server serves DREDGE over the Model Context Protocol.
//
// By default it speaks MCP over stdio, for a client that starts it (Claude
// Desktop, an IDE): stdout carries protocol messages only and every log line
// goes to stderr. With -transport http it serves Streamable HTTP at /mcp;
// GET / answers the capabilities (list_capabilities' JSON), as the
// original's MCP server did, GET /health answers {"status":"healthy"} (a
// container's probe) and GET /metrics the Engine's Prometheus metrics, as
// on the HTTP service:
//
//	mcp-server                                  # stdio
//	mcp-server -transport http -addr :3002      # http://localhost:3002/mcp
//
// The Engine is configured from the environment (dredge.FromEnv: DEVICE,
// CACHE_*, REDIS_*, METRICS_ENABLED, …; LOG_LEVEL sets the log level). The
// default HTTP address is ":" + MCP_SERVER_PORT, else ":3002".
//
// Over HTTP it takes the HTTP service's API keys and rate limits
// (httpapi.ConfigFromEnv: AUTH_ENABLED, API_KEY, API_KEYS_FILE,
// RATE_LIMIT_*, TRUST_PROXY; httpapi.Protect applies them): with
// AUTH_ENABLED=true every request needs "Authorization: Bearer <key>" (or
// X-API-Key), else 401. Each session is bound to the tenant of the key
// that opened it, and another tenant's key gets 404 for it, as for an
// unknown session. SIGHUP reads API_KEYS_FILE again: a removed key is
// refused from the next request on, whatever the session. Each request is
// logged at level Info (never a key).
//
// The job tools (submit_job, get_job, cancel_job) run on the queue the
// environment names as for the HTTP service (QUEUE_BACKEND memory|redis,
// NUM_WORKERS, WORKER_CONCURRENCY, REDIS_URL …); with redis and
// NUM_WORKERS=0 the server only enqueues and workers elsewhere run the
// jobs.
package main
