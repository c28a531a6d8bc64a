package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/workers"
)

// The job tools' names (see Options.Jobs).
const (
	SubmitJobTool = "submit_job"
	GetJobTool    = "get_job"
	CancelJobTool = "cancel_job"
)

// DefaultJobWait is the longest get_job waits for a job to end when
// Options.JobWait is zero.
const DefaultJobWait = 5 * time.Minute

// jobPoll is how often get_job looks at a job it waits for.
const jobPoll = 200 * time.Millisecond

// jobs serves the job tools on a queue.
type jobs struct {
	eng  *dredge.Engine
	q    workers.Queue
	wait time.Duration
	log  *slog.Logger
}

// addJobTools adds submit_job, get_job and cancel_job to srv.
func addJobTools(srv *sdk.Server, j *jobs) {
	str := func(desc string) *jsonschema.Schema { return &jsonschema.Schema{Type: "string", Description: desc} }
	jobID := str("the job's id, as submit_job returned it: 32 lowercase hexadecimal digits")
	jobID.Pattern = "^[0-9a-f]{32}$"
	ops := make([]any, 0, len(dredge.Operations()))
	for _, name := range dredge.Operations() {
		ops = append(ops, name)
	}
	state := &jsonschema.Schema{
		Type: "object",
		Description: "the job's state: job_id, operation, status (pending, running, completed, failed or canceled), " +
			"attempts, times, progress {done, total, message} while it runs, and result (the operation's own response) " +
			"once completed, or error and code once failed",
		Properties: map[string]*jsonschema.Schema{"job_id": {Type: "string"}, "status": {Type: "string"}},
		Required:   []string{"job_id", "status"},
	}
	srv.AddTool(&sdk.Tool{
		Name: SubmitJobTool,
		Description: "Run an operation (any of this server's other tools, e.g. benchmark) as a job on the queue; " +
			"returns its job_id at once. Follow it with get_job (wait true and a progress token for progress notifications).",
		InputSchema: &jsonschema.Schema{
			Type: "object",
			Properties: map[string]*jsonschema.Schema{
				"operation": {Type: "string", Enum: ops, Description: "the operation to run: a tool name of this server"},
				"params":    {Type: "object", Description: "the operation's arguments, as its tool takes them (default {})"},
			},
			Required: []string{"operation"},
		},
		OutputSchema: &jsonschema.Schema{
			Type:       "object",
			Properties: map[string]*jsonschema.Schema{"job_id": {Type: "string"}, "status": {Type: "string"}},
			Required:   []string{"job_id", "status"},
		},
		Annotations: &sdk.ToolAnnotations{OpenWorldHint: ptr(false)},
	}, j.submit)
	srv.AddTool(&sdk.Tool{
		Name: GetJobTool,
		Description: "Report a job's state; with wait true, first wait until it ends (at most " + j.wait.String() +
			"), sending progress notifications while it runs when the request has a progress token.",
		InputSchema: &jsonschema.Schema{
			Type: "object",
			Properties: map[string]*jsonschema.Schema{
				"job_id": jobID,
				"wait":   {Type: "boolean", Description: "wait until the job is completed, failed or canceled (bounded), default false"},
			},
			Required: []string{"job_id"},
		},
		OutputSchema: state,
		Annotations:  &sdk.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr(false)},
	}, j.get)
	srv.AddTool(&sdk.Tool{
		Name:        CancelJobTool,
		Description: "Cancel a pending or running job; returns its state (canceled). A finished job cannot be canceled.",
		InputSchema: &jsonschema.Schema{
			Type:       "object",
			Properties: map[string]*jsonschema.Schema{"job_id": jobID},
			Required:   []string{"job_id"},
		},
		OutputSchema: state,
		Annotations:  &sdk.ToolAnnotations{DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
	}, j.cancel)
}

// submit enqueues a job. The operation and the params' shape (a JSON
// object) are checked here, the params themselves when the job runs (a
// job with bad params ends failed with the operation's error), as the
// HTTP API's POST /v1/jobs does.
func (j *jobs) submit(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
	var args struct {
		Operation string          `json:"operation"`
		Params    json.RawMessage `json:"params"`
	}
	if err := decodeArgs(req.Params.Arguments, &args); err != nil {
		return errorResult(err), nil
	}
	if _, ok := dredge.LookupOperation(args.Operation); !ok {
		// The Engine's own answer for a missing or unknown operation: it
		// fails at the lookup, before anything runs.
		a := j.eng.Answer(ctx, args.Operation, nil)
		return errorResult(a.Err), nil
	}
	if p := bytes.TrimSpace(args.Params); len(p) > 0 && p[0] != '{' && !bytes.Equal(p, []byte("null")) {
		return errorResult(invalid("params", "params: must be a JSON object, the operation's arguments")), nil
	}
	id, err := j.q.Enqueue(ctx, args.Operation, args.Params)
	if err != nil {
		return j.queueError(ctx, err), nil
	}
	body, _ := json.Marshal(struct {
		ID     string         `json:"job_id"`
		Status workers.Status `json:"status"`
	}{id, workers.Pending})
	return jsonResult(body), nil
}

// get answers a job's state, first waiting for its end when asked to,
// with progress notifications when the request has a progress token.
func (j *jobs) get(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
	var args struct {
		JobID string `json:"job_id"`
		Wait  bool   `json:"wait"`
	}
	if err := decodeArgs(req.Params.Arguments, &args); err != nil {
		return errorResult(err), nil
	}
	if err := checkJobID(args.JobID); err != nil {
		return errorResult(err), nil
	}
	var notify *progressSender
	if args.Wait {
		notify = newProgressSender(req)
	}
	var deadline <-chan time.Time
	if args.Wait {
		t := time.NewTimer(j.wait)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(jobPoll)
	defer tick.Stop()
	for {
		st, err := j.q.Status(ctx, args.JobID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return j.queueError(ctx, err), nil
		}
		if st.Progress != nil {
			notify.send(ctx, *st.Progress)
		}
		if !args.Wait || st.Status.Final() {
			return stateResult(st), nil
		}
		select {
		case <-ctx.Done(): // the client canceled the request
			return nil, ctx.Err()
		case <-deadline:
			return stateResult(st), nil // still running: the client asks again
		case <-tick.C:
		}
	}
}

// cancel cancels a pending or running job and answers its state.
func (j *jobs) cancel(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
	var args struct {
		JobID string `json:"job_id"`
	}
	if err := decodeArgs(req.Params.Arguments, &args); err != nil {
		return errorResult(err), nil
	}
	if err := checkJobID(args.JobID); err != nil {
		return errorResult(err), nil
	}
	err := j.q.Cancel(ctx, args.JobID)
	if errors.Is(err, workers.ErrNotClaimed) {
		msg := "job_id: the job is already finished"
		if st, serr := j.q.Status(ctx, args.JobID); serr == nil {
			msg = "job_id: the job is already " + string(st.Status)
		}
		return errorResult(invalid("job_id", "%s", msg)), nil
	}
	var st workers.State
	if err == nil {
		st, err = j.q.Status(ctx, args.JobID)
	}
	if err != nil {
		return j.queueError(ctx, err), nil
	}
	return stateResult(st), nil
}

// queueError is the tool error of a queue's failure: an unknown job (or
// another tenant's: the same answer) not_found naming job_id, a tenant
// with as many queued jobs as it may resource_exhausted naming the limit,
// a full, closed or unreachable queue unavailable, anything else internal
// (logged).
func (j *jobs) queueError(ctx context.Context, err error) *sdk.CallToolResult {
	var limit *workers.TenantLimitError
	switch {
	case errors.As(err, &limit):
		return errorResult(&dredge.Error{Code: dredge.CodeResourceExhausted, Err: limit,
			Message: limit.Error()})
	case errors.Is(err, workers.ErrNotFound):
		return errorResult(&dredge.Error{Code: dredge.CodeNotFound, Field: "job_id",
			Message: "job_id: no such job (unknown, or its result has expired)"})
	case errors.Is(err, workers.ErrFull):
		return errorResult(&dredge.Error{Code: dredge.CodeUnavailable, Message: "the job queue is full; retry later"})
	case errors.Is(err, workers.ErrClosed):
		return errorResult(&dredge.Error{Code: dredge.CodeUnavailable, Message: "the job queue is closed"})
	case errors.Is(err, workers.ErrUnavailable):
		j.log.Warn("job queue unavailable", "error", err.Error())
		return errorResult(&dredge.Error{Code: dredge.CodeUnavailable, Message: "the job queue cannot be reached; retry later"})
	case ctx.Err() != nil:
		return errorResult(&dredge.Error{Code: dredge.CodeUnavailable, Message: "request canceled"})
	}
	j.log.Error("job queue failed", "error", err.Error())
	return errorResult(&dredge.Error{Code: dredge.CodeInternal, Message: "internal error", Err: err})
}

// checkJobID checks the form of a job id (see workers.ValidID).
func checkJobID(id string) error {
	if workers.ValidID(id) {
		return nil
	}
	if id == "" {
		return invalid("job_id", "job_id: is required")
	}
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	return invalid("job_id", "job_id: want 32 lowercase hexadecimal digits, got %q", id)
}

func invalid(field, format string, args ...any) error {
	return &dredge.Error{Code: dredge.CodeInvalidArgument, Field: field, Message: fmt.Sprintf(format, args...)}
}

// decodeArgs decodes a job tool's arguments, an object of known fields.
func decodeArgs(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	if raw[0] != '{' {
		return invalid("arguments", "arguments: must be a JSON object")
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalid(te.Field, "%s: must be a %s", te.Field, jsonType(te.Type.Kind().String()))
		}
		return invalid("arguments", "arguments: %s", err)
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	}
	return kind
}

// jsonResult is a successful tool result: body as structured and as text
// content.
func jsonResult(body []byte) *sdk.CallToolResult {
	return &sdk.CallToolResult{
		Content:           []sdk.Content{&sdk.TextContent{Text: string(body)}},
		StructuredContent: json.RawMessage(body),
	}
}

func stateResult(st workers.State) *sdk.CallToolResult {
	body, err := json.Marshal(st)
	if err != nil { // a result that is not JSON: a queue's bug
		return errorResult(&dredge.Error{Code: dredge.CodeInternal, Message: "internal error", Err: err})
	}
	return jsonResult(body)
}

// errorResult is a tool error: text "code: message", structured content
// the error JSON with code and field.
func errorResult(err error) *sdk.CallToolResult {
	return &sdk.CallToolResult{
		IsError:           true,
		Content:           []sdk.Content{&sdk.TextContent{Text: string(dredge.CodeOf(err)) + ": " + dredge.MessageOf(err)}},
		StructuredContent: json.RawMessage(dredge.ErrorJSON(err)),
	}
}

// progressSender sends the progress notifications of one request with a
// progress token, each with more done than the last (as MCP requires: a
// job run again from the start reports nothing until it passes its
// earlier progress). A nil sender sends nothing.
type progressSender struct {
	session *sdk.ServerSession
	token   any
	last    int64
}

// newProgressSender returns the sender of req's notifications, or nil
// when req has no progress token.
func newProgressSender(req *sdk.CallToolRequest) *progressSender {
	token := req.Params.GetProgressToken()
	if token == nil || req.Session == nil {
		return nil
	}
	return &progressSender{session: req.Session, token: token, last: -1}
}

func (s *progressSender) send(ctx context.Context, p dredge.Progress) {
	if s == nil || p.Done <= s.last {
		return
	}
	s.last = p.Done
	// A failed notification (the client went away) ends nothing: the call
	// answers, or its context ends.
	_ = s.session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{
		ProgressToken: s.token, Progress: float64(p.Done), Total: float64(p.Total), Message: p.Message})
}

// listenProgress returns ctx with a progress listener that forwards an
// operation's progress to req's progress token from a goroutine of its
// own (the latest progress only: the operation never waits on the
// client), and the function that stops it once the operation has
// returned, after its last notification. Without a progress token it
// returns ctx and a no-op.
func listenProgress(ctx context.Context, req *sdk.CallToolRequest) (context.Context, func()) {
	s := newProgressSender(req)
	if s == nil {
		return ctx, func() {}
	}
	var (
		mu     sync.Mutex
		latest *dredge.Progress
	)
	wake := make(chan struct{}, 1)
	stop := make(chan struct{})
	done := make(chan struct{})
	sendCtx := ctx
	go func() {
		defer close(done)
		for {
			var stopping bool
			select {
			case <-wake:
			case <-stop:
				stopping = true
			}
			mu.Lock()
			p := latest
			latest = nil
			mu.Unlock()
			if p != nil {
				s.send(sendCtx, *p)
			}
			if stopping {
				return
			}
		}
	}()
	ctx = dredge.WithProgress(ctx, func(p dredge.Progress) {
		mu.Lock()
		latest = &p
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	return ctx, func() { close(stop); <-done }
}
