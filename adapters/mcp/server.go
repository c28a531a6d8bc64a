package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/workers"
)

// Options configure [NewServer]. The zero value is the default.
type Options struct {
	// Logger receives the server's and the SDK's log records (nil discards
	// them). A stdio server must log to stderr, never to stdout.
	Logger *slog.Logger
	// Instructions are sent to clients when they connect (empty: a short
	// guide to DREDGE's tools).
	Instructions string
	// Jobs, when not nil, adds the job tools submit_job, get_job and
	// cancel_job, backed by this queue (whose workers run the jobs
	// elsewhere: a [workers.Pool] on the same queue). nil: no job tools.
	Jobs workers.Queue
	// JobWait bounds how long get_job with wait true waits for a job to
	// end (0: [DefaultJobWait]).
	JobWait time.Duration
}

const defaultInstructions = "DREDGE serves physics-inspired models: string vibration modes, " +
	"Quasimoto wave functions with SIREN and random-Fourier-feature baselines, and a string-theory MLP. " +
	"list_capabilities names the model types; load_model returns a model_id for inference, " +
	"get_parameters and benchmark. Every tool returns DREDGE's JSON response as structured content; " +
	"a failed call is a tool error whose text names the code and the field at fault."

// NewServer returns an MCP server, built on the official SDK, that serves
// eng: every operation of [dredge.Operations] as a tool of the same name,
// and the resources [CapabilitiesURI], [ModelsURI] and [ModelURITemplate].
// Run it on any SDK transport, e.g. server.Run(ctx, &sdk.StdioTransport{}),
// or serve it over HTTP with [NewHTTPHandler].
//
// A server may serve any number of sessions at once; the Engine is shared.
// NewServer panics if eng is nil, or if the schema table of this package
// names a field the operation's params no longer have (a programmer error
// that every test of this package catches).
func NewServer(eng *dredge.Engine, opts *Options) *sdk.Server {
	return newServer(eng, opts, nil)
}

// newServer is [NewServer] whose sessions are named by sessionID (nil: the
// SDK's random ids); see [HTTPHandler] for why.
func newServer(eng *dredge.Engine, opts *Options, sessionID func() string) *sdk.Server {
	if eng == nil {
		panic("mcp: NewServer with a nil Engine")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Instructions == "" {
		o.Instructions = defaultInstructions
	}
	srv := sdk.NewServer(&sdk.Implementation{Name: "dredge", Title: dredge.Title, Version: dredge.Version}, &sdk.ServerOptions{
		Logger:       o.Logger,
		Instructions: o.Instructions,
		// Tools and resources are inferred; no "logging": the server sends
		// no log messages to clients.
		Capabilities: &sdk.ServerCapabilities{},
		GetSessionID: sessionID,
	})
	tools, err := tools()
	if err != nil {
		panic(err)
	}
	for _, t := range tools {
		srv.AddTool(t, toolHandler(eng, t.Name, o.Logger))
	}
	if o.Jobs != nil {
		if o.JobWait <= 0 {
			o.JobWait = DefaultJobWait
		}
		addJobTools(srv, &jobs{eng: eng, q: o.Jobs, wait: o.JobWait, log: o.Logger})
	}
	addResources(srv, eng)
	return srv
}

// tools returns one tool per operation of the table, sorted by name.
func tools() ([]*sdk.Tool, error) {
	names := dredge.Operations()
	out := make([]*sdk.Tool, 0, len(names))
	for _, name := range names {
		op, ok := dredge.LookupOperation(name)
		if !ok {
			return nil, fmt.Errorf("mcp: operation %q is listed but not found", name)
		}
		in, err := inputSchema(op)
		if err != nil {
			return nil, err
		}
		t := &sdk.Tool{
			Name:         op.Name,
			Description:  op.Description,
			InputSchema:  in,
			OutputSchema: outputSchema(),
		}
		if op.ReadOnly {
			t.Annotations = &sdk.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr(false)}
		}
		out = append(out, t)
	}
	return out, nil
}

// toolHandler runs operation op through [dredge.Engine.Answer]. The
// result's structured content is the operation's JSON, byte for byte, and
// its text content the same JSON. A failure is a tool error (isError) whose
// text is "code: message" and whose structured content is the error JSON
// with code and field; protocol errors are left to the SDK. A long-running
// operation called with a progress token sends progress notifications as
// it runs.
func toolHandler(eng *dredge.Engine, op string, log *slog.Logger) sdk.ToolHandler {
	o, _ := dredge.LookupOperation(op)
	return func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		stop := func() {}
		if o.LongRunning {
			ctx, stop = listenProgress(ctx, req)
		}
		a := eng.Answer(ctx, op, req.Params.Arguments)
		stop()
		res := &sdk.CallToolResult{
			Content:           []sdk.Content{&sdk.TextContent{Text: string(a.Body)}},
			StructuredContent: json.RawMessage(a.Body),
		}
		if a.Err == nil {
			return res, nil
		}
		res.IsError = true
		res.Content = []sdk.Content{&sdk.TextContent{Text: string(a.Code) + ": " + dredge.MessageOf(a.Err)}}
		lvl := slog.LevelDebug
		if a.Code == dredge.CodeInternal {
			lvl = slog.LevelError
		}
		log.Log(ctx, lvl, "tool call failed", "tool", op, "code", string(a.Code), "field", dredge.FieldOf(a.Err), "error", a.Err.Error())
		return res, nil
	}
}
