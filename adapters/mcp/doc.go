// Package mcp serves a [dredge.Engine] over the Model Context Protocol with
// the official Go SDK ([github.com/modelcontextprotocol/go-sdk/mcp]), so
// that Claude Desktop, IDEs and any MCP client can use DREDGE's models as
// tools.
//
// # Tools
//
// [NewServer] turns every operation of the Engine's one operation table
// ([dredge.Operations]) into a tool of the same name and description: a new
// operation appears without a change here. A tool's input schema is derived
// from the operation's params struct ([dredge.Operation.NewParams]):
// descriptions come from its jsonschema tags, required fields from its json
// tags (model_type for load_model, model_id for inference and
// get_parameters, insight_text for lift, …). A small table keyed by
// operation name adds what tags cannot state: the Engine's bounds
// (max_modes 1..[stringtheory.MaxModes], config.n_waves
// 1..[stringtheory.MaxWaves], config.num_layers 1..[stringtheory.MaxLayers],
// config.hidden_size 1..[stringtheory.MaxHidden], …), the model types as an
// enum, and defaults. The Engine still validates every call; the schema
// tells clients what it will accept.
//
// A call runs through [dredge.Engine.CallJSON]. The result's structured
// content is the operation's JSON exactly as DREDGE's HTTP API returns it
// ("success": true and the result's fields), and its text content the same
// JSON. Bad input is not a protocol error but a tool error: isError is set,
// the text reads "code: message" (for example "invalid_argument:
// max_modes: must be between 1 and 100000, got 0"), and the structured
// content is the error JSON with "code" and "field". An unknown tool is a
// protocol error, answered by the SDK.
//
// # Jobs and progress
//
// A long-running tool (benchmark) called with a progress token sends
// notifications/progress as it runs (epochs done of the total, throttled
// by [dredge.WithProgress]).
//
// With a queue in Options.Jobs, three more tools run any operation as a
// job of package workers, on the same queue as the HTTP API's /v1/jobs:
// submit_job ({"operation", "params"} → {"job_id", "status"}), get_job
// ({"job_id", "wait"} → the job's [workers.State], whose result is the
// operation's own response) and cancel_job ({"job_id"} → the state). With
// wait true get_job first waits until the job ends, for at most
// Options.JobWait, looking at the queue every 200 ms, and when the request
// has a progress token it sends the job's progress as notifications. Bad
// input is a tool error naming the field: an unknown operation
// (operation), params that are not an object (params), a malformed or
// unknown job id (job_id), a finished job canceled (job_id); the params
// themselves are checked when the job runs, and a job with bad params ends
// failed with the operation's error. A job belongs to the tenant on the
// tool call's context ([dredge.TenantOf]; the default tenant "" over
// stdio): get_job and cancel_job of another tenant's job answer not_found
// exactly as an unknown id, and a tenant past its limit of queued jobs
// (QUEUE_TENANT_MAX_JOBS) gets resource_exhausted naming the limit. The go-sdk in use (v1.8.0) does not
// implement MCP's tasks extension, so tool calls do not run as tasks.
//
// # Resources
//
// [CapabilitiesURI] reads list_capabilities' JSON, [ModelsURI] lists the
// loaded models, and the template [ModelURITemplate] reads one model's
// get_parameters JSON.
//
// # Transports
//
// The [github.com/modelcontextprotocol/go-sdk/mcp.Server] that [NewServer]
// returns runs on any SDK transport: stdio for a local client (see
// examples/mcp-server; a stdio server must write nothing but protocol
// messages to stdout, so its logs go to stderr), or the in-memory
// transports in tests. [NewHTTPHandler] serves it over Streamable HTTP:
// an [HTTPHandler] with the SDK's DNS-rebinding protection and a
// cross-origin check configured by [HTTPOptions]; register
// [HTTPHandler.CloseSessions] with [net/http.Server.RegisterOnShutdown] so
// that open event streams do not hold up a graceful shutdown.
// [NewIndexHandler] answers GET / with the capabilities, as the Python
// original's MCP server did.
//
// # Authentication and tenants
//
// [HTTPHandler] does not authenticate; it serves each request for the
// tenant its context carries ([dredge.TenantOf]), which the handler in
// front puts there from the request's API key: the HTTP service's handler
// (package adapters/httpapi, with Config.MCP set), or httpapi.Protect
// around an HTTPHandler served on its own, as examples/mcp-server does.
// Either way the MCP endpoint takes the service's keys ("Authorization:
// Bearer <key>"), and a request without a valid one gets 401 with
// "WWW-Authenticate: Bearer" before it reaches the transport.
//
// The tenant reaches every tool call and resource read, so the Engine
// keeps each tenant's cached results (and models) apart. A session is
// bound to the tenant of the request that created it: each tenant has its
// own SDK server, whose middleware puts the tenant on the context of every
// call (the SDK runs handlers on a context derived from the request that
// created the session, not from the request that carries the call, so the
// tenant is set where it is known for certain), and whose session ids
// carry a tag drawn
// at random for that tenant. A session id presented for another tenant
// gets the SDK's answer to an unknown session id (404 "session not
// found"), whatever the method: ids cannot be used across tenants, and an
// answer does not tell another tenant's session from one that never
// existed. A key removed from the keys file stops working from the next
// request on, so its sessions do too. Without sessions (Stateless) each
// request is served for its own tenant.
//
// # Concurrency
//
// One server serves any number of sessions concurrently; tool calls run
// concurrently on the shared Engine, which is safe for concurrent use.
package mcp
