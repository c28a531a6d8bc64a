// Command mcp-server serves DREDGE over the Model Context Protocol.
//
// By default it speaks MCP over stdio, for a client that starts it (Claude
// Desktop, an IDE): stdout carries protocol messages only and every log line
// goes to stderr. With -transport http it serves Streamable HTTP at /mcp,
// and GET / answers the capabilities (list_capabilities' JSON), as the
// original's MCP server did:
//
//	mcp-server                                  # stdio
//	mcp-server -transport http -addr :3002      # http://localhost:3002/mcp
//
// The Engine is configured from the environment (dredge.FromEnv: DEVICE,
// CACHE_*, REDIS_*, METRICS_ENABLED, …; LOG_LEVEL sets the log level). The
// default HTTP address is ":" + MCP_SERVER_PORT, else ":3002".
//
// The job tools (submit_job, get_job, cancel_job) run on the queue the
// environment names as for the HTTP service (QUEUE_BACKEND memory|redis,
// NUM_WORKERS, WORKER_CONCURRENCY, REDIS_URL …); with redis and
// NUM_WORKERS=0 the server only enqueues and workers elsewhere run the
// jobs.
package main
