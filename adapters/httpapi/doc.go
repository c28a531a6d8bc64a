// Package httpapi serves a [dredge.Engine] over HTTP: health and readiness
// probes, every operation of the operation table as REST, the original
// DREDGE's legacy POST /mcp envelope and POST /lift, and Prometheus
// /metrics, behind optional API-key authentication and rate limiting.
//
// It holds no business logic: each handler decodes the request, calls
// [dredge.Engine.CallJSON] or [dredge.Engine.HandleRequest], and writes the
// Engine's JSON. A new operation of the table appears here with no change.
//
// # Routes
//
//	GET    /                     name, version, routes and operations
//	GET    /health               {"status":"healthy","version":…}: liveness, always 200
//	GET    /ready                200 {"status":"ready"} or 503 while dredge.Engine.Ready or the job queue fails
//	GET    /metrics              the Engine monitor's Prometheus exposition (404 when metrics are off)
//	GET    /v1/ops               the operations with their descriptions
//	POST   /v1/ops/{operation}   the operation, its params as the JSON body (empty body: {})
//	POST   /lift                 the lift operation: {"insight_text": …}
//	GET    /v1/datasets/{type}   the type's training set on a line along its first input (dredge.Engine.TrainingSlice)
//	GET    /ui                   the web console (off with Config.DisableUI)
//	POST   /mcp                  the legacy {"operation": …, "params": …} envelope
//	GET, DELETE /mcp             the MCP transport, when Config.MCP is set
//	POST   /v1/jobs              enqueue {"operation": …, "params": …}: 202 {"job_id", "status": "pending"}
//	GET    /v1/jobs/{id}         the job's state, with its result once completed
//	DELETE /v1/jobs/{id}         cancel a pending or running job
//
// Successful operations answer 200 with the operation's result, which has
// "success": true. Failures answer {"success": false, "error": …, "code": …,
// "field": …} with the status [StatusOf] maps the code to: invalid_argument
// 400, not_found 404, unauthenticated 401, rate_limited 429 (with
// Retry-After in seconds), resource_exhausted 429 (the Engine's model
// memory budget is spent), unavailable 503 with Retry-After: 1 (a closed
// Engine, an operation past the Engine's deadline, or a heavy call that
// found no turn before it), internal 500 (only for bugs). A
// body over [Config.MaxBodyBytes] is 413, a body not received within
// [Config.BodyReadTimeout] 408, a method a route does not serve 405 with
// Allow, an unknown path 404; bad input never gets a 5xx.
//
// # Event streams
//
// POST /v1/ops/{operation} (and /lift) with "Accept: text/event-stream"
// answers 200 with Server-Sent Events: one "progress" event per report of
// a long-running operation ([dredge.Progress] as JSON: benchmark's epoch
// done, the total and the loss), then one "result" event whose data is the
// answer the plain call gives, success or error, after which the stream
// ends. Authentication, rate limiting and the body limit answer before
// the stream, as plain JSON errors. A client that goes away cancels the
// operation. Progress waits for no client: past 64 reports a slow client
// has not read, newer ones are dropped until it catches up.
//
// # Web console
//
// GET /ui serves a console embedded in the binary: an overview of the
// service from /metrics, the string spectrum and unified field as charts,
// the loaded models, and a playground that trains a model through the
// event stream, plotting its loss and its fit (GET /v1/datasets), then
// runs inference on typed-in points. It uses the public API only, with a
// key its user enters once per browser session; its files need no key
// and hold no data, and they load nothing from other hosts
// (Content-Security-Policy: default-src 'self').
//
// # Jobs
//
// With [Config.Jobs] set to a [workers.Queue], an operation can run as a
// job, run by a [workers.Pool] in this process or another. POST /v1/jobs
// checks the operation (missing: 400, unknown: 404, a body that is not a
// JSON object: 400) and enqueues it: 202 {"job_id", "status": "pending"}
// with Location: /v1/jobs/{id}; a full queue answers 503 unavailable with
// Retry-After: 1. The params are checked when the job runs: a job whose
// operation fails ends "failed" with the operation's own "error" and
// "code". GET /v1/jobs/{id} answers the job's [workers.State]: "status"
// (pending, running, completed, failed or canceled), "result" (the
// operation's own response, once completed), "error" and "code" (once
// failed), "attempts" and the times. DELETE /v1/jobs/{id} cancels a pending
// or running job and answers its state; a finished job is 409. An id that
// is not 32 lowercase hexadecimal digits is 400, an unknown one 404, both
// with field "job_id". Without a queue the job routes answer 404 and the
// index does not list them. Authentication and rate limiting apply as on
// every /v1 route.
//
// A job belongs to the tenant of the key that submitted it (see Tenants):
// GET and DELETE /v1/jobs/{id} of another tenant's job answer 404 with the
// very body of an id that never existed, and an Idempotency-Key names a
// job of the caller's tenant only. With a limit of queued jobs per tenant
// (QUEUE_TENANT_MAX_JOBS, [workers.TenantLimitError]) a submission past it
// answers 429 resource_exhausted naming the limit. Jobs run under their
// tenant: with its models and cached results.
//
// # The legacy /mcp endpoint
//
// POST /mcp takes the original's envelope and answers as the original did:
// HTTP 200 with "success" true or false, whatever the operation's outcome,
// so existing DREDGE clients keep working. Only a body that is not a JSON
// object at all (malformed or truncated JSON, an array without an MCP
// handler, an empty body) gets 400; authentication, rate limiting and the
// body limit answer 401, 429 and 413 as on every route.
//
// When [Config.MCP] holds a Model Context Protocol Streamable HTTP handler,
// /mcp serves both: GET and DELETE, requests with an Mcp-Session-Id header,
// and POST bodies that are JSON-RPC (an object with a top-level "jsonrpc"
// member, or an array, a batch) go to it; other POST bodies are legacy
// envelopes. The body is read once, within the size limit, and handed on
// intact.
//
// The MCP transport is behind the same authentication and rate limiting as
// every route: a request without a valid key gets 401 with
// "WWW-Authenticate: Bearer", whatever its session. An MCP handler of
// package adapters/mcp
// ([github.com/dredge-cli/dredge/adapters/mcp.NewHTTPHandler]) serves each
// request for the
// tenant of its key, and binds each session to the tenant that created it:
// a session id presented with another tenant's key answers 404 exactly as
// an unknown session id does, and the sessions of a key removed by a
// reload get 401 from the next request on.
//
// [Protect] puts a handler served on its own behind the same access log,
// authentication and rate limiting, configured by the same [Config]:
// examples/mcp-server serves the MCP transport without the rest of the
// service that way, with the service's keys.
//
// # Security and limits
//
// With [Config.AuthEnabled] every route except /health, /ready and the
// console's files needs
// one of [Config.APIKeys] or [Config.Keys], sent as "Authorization: Bearer
// <key>" or "X-API-Key: <key>". Keys are kept and compared as SHA-256
// digests in constant time (crypto/subtle), with every stored digest, so
// neither a key nor its length leaks through timing, and they never appear
// in logs, metrics or errors.
//
// # Tenants
//
// Each key belongs to a tenant: those of [Config.APIKeys] (API_KEY) to the
// default tenant "", those of [Config.Keys] (API_KEYS_FILE) to the tenant
// the file names. The file holds one "tenant key [quota]" per line, or a
// key alone for the default tenant, or JSON; see [Keys] for the format and
// [ParseKeys] and [LoadKeys]. The handler puts the tenant of each
// authenticated request on its context with [dredge.WithTenant], where
// the Engine keeps its models and cached results apart and counts its
// metrics (see Metrics by tenant). [Keys.Reload] reads the file again and
// replaces the keys atomically while the handler runs
// ([ReloadKeysOnHangup] does so on each SIGHUP, as examples/http-service
// and examples/mcp-server do): the next request with a removed key gets
// 401, those already admitted run on, and a file that does not load keeps
// the old keys.
//
// # Rate limits and quotas
//
// With [Config.RateLimitEnabled] each tenant has one token bucket, shared
// by all of its keys (API_KEY's and the file's keys alone share the
// default tenant's), so that more keys do not mean more requests. Its size
// is the tenant's quota from the keys file, or RateLimitRequests for a
// tenant without one, refilled evenly over RateLimitWindow. A refusal
// answers 429 rate_limited with Retry-After and names the limit, "tenant
// quota of 50 requests per 1m0s exceeded; retry after 2 s" or "rate limit
// of 100 requests per 1m0s exceeded; …", never the key. The quota is read
// with the keys at each request, so a reload that changes it applies to
// the next one, with the requests already counted kept: a tenant that has
// used 40 of 50 has 60 left when its quota becomes 100.
//
// Requests that fail authentication, and every request when
// authentication is off, count against their client address instead,
// with RateLimitRequests, so that keys cannot be guessed at full speed.
// The client address is the connection's, or the last X-Forwarded-For
// entry with [Config.TrustProxy]. Buckets that have refilled are dropped
// and their number is bounded, so memory stays bounded whatever the
// clients do.
//
// # Metrics by tenant
//
// The handler gives the Engine's monitor the tenants its keys name
// ([Keys.Tenants], with [monitor.Monitor.SetTenants]), again at the first
// request after a reload. Only those names become the tenant label of
// dredge_operations_total (whose outcome counts the errors) and
// dredge_tenant_cache_hits_total, and of dredge_jobs_total for the jobs a
// worker pool reports with their tenant ([monitor.Monitor.JobFinishedFor]):
// the default tenant's series, and those of a name the file does not
// give, have no label, and nothing a request sends can add one. A process
// that runs jobs without this handler must call SetTenants itself for its
// jobs to be labelled. No key reaches /metrics.
//
// Each operation runs under the Engine's deadline (REQUEST_TIMEOUT, or
// LONG_REQUEST_TIMEOUT for training: see [dredge.WithTimeouts]), and stops
// when the client goes; past it the operation answers code unavailable (503
// on the REST routes, 200 on the legacy /mcp). Reading a body has its own deadline
// ([Config.BodyReadTimeout], set with http.ResponseController), since a
// server ReadTimeout would also cut the MCP transport's event streams.
// [NewServer] sets the server's header timeout, idle timeout and header
// size limit; [Run] serves until its context is done and then shuts down
// gracefully, letting the requests in flight finish.
//
// # Configuration
//
// The zero [Config] is the default. [ConfigFromEnv] reads AUTH_ENABLED,
// API_KEY, API_KEYS_FILE, RATE_LIMIT_ENABLED, RATE_LIMIT_REQUESTS,
// RATE_LIMIT_WINDOW, TRUST_PROXY, MAX_BODY_BYTES and UI_ENABLED; bad
// values are a [*ConfigError] naming the variable.
//
// # Readiness
//
// GET /ready is [dredge.Engine.Ready] under a 2 s deadline: it fails once
// the Engine is closed, while its model store does not answer a ping or
// its cache backend (such as Redis) a probe key, and, with
// [Config.Jobs], while the queue does not answer its depth. The reason goes to the log at level
// Warn, not to the caller, since it may name internal addresses.
//
// # Logging
//
// With [Config.Logger] each request is logged at level Info with its
// method, path, status, response bytes, duration and client address;
// never a header, a query string, or a key.
package httpapi
