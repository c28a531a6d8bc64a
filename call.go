package dredge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/dredge-cli/dredge/internal/jsonx"
	"github.com/dredge-cli/dredge/internal/tenant"
)

// NoParams are the parameters of operations that take none.
type NoParams struct{}

// Operation describes one entry of the operation table: what adapters need
// to know to offer it (schemas, hints, timeouts) besides the call itself.
type Operation struct {
	// Name is the operation's name, e.g. "unified_inference".
	Name string
	// Description says what the operation does.
	Description string
	// ReadOnly reports an operation that changes no state: it loads,
	// trains or unloads no model (a hint for MCP clients, say).
	ReadOnly bool
	// LongRunning reports an operation that may run for minutes (training):
	// it gets the Engine's long deadline instead of the request deadline.
	LongRunning bool
	// Quick reports an operation whose work is bounded to microseconds by
	// its parameters' limits and never waits (no I/O, no lock held long):
	// the Engine gives it no deadline, which nothing in it would observe,
	// and saves the timer (0.3–0.4 µs of a 1.4 µs cached call).
	Quick bool
	// Cached reports an operation whose results the Engine keeps in its
	// result cache (when it has one).
	Cached bool
	// Params are the bounds, enumerations and defaults of the parameters,
	// as validation enforces them.
	Params []Param
	// RequireOneOf names top-level parameters of which a request must give
	// at least one.
	RequireOneOf []string
	// NewParams returns a pointer to a zero value of the operation's
	// parameter struct (for schema generation by adapters).
	NewParams func() any

	// call decodes JSON params and runs the operation. It returns the
	// computed result (a pointer to the result struct), or, when asJSON is
	// set and the result came from the cache, its stored encoding.
	call func(ctx context.Context, e *Engine, raw []byte, asJSON bool) (any, []byte, error)
	// answer is call with params decoded already (a pointer to the params
	// struct) and asJSON set.
	answer func(ctx context.Context, e *Engine, p any) (any, []byte, error)
}

// handler is a table row with its typed computation: the one path of every
// call of the operation, whichever adapter or typed method makes it.
type handler[P, R any] struct {
	Operation
	fn  func(*Engine, context.Context, *P) (*R, error)
	key func(*Engine, context.Context, *P) (string, error) // nil: never cached
	// model, when set, returns the model_id the params name: with a
	// model store, the Engine brings its copy of that model up to date
	// once per call, before the key and the computation use it.
	model func(*P) string
}

// def makes a table row from its facts, its computation and its cache key
// function (nil for operations whose results are not cached; a key
// function returns "" for a request not worth caching).
func def[P, R any](o Operation, fn func(*Engine, context.Context, *P) (*R, error), key func(*Engine, context.Context, *P) (string, error)) *handler[P, R] {
	h := &handler[P, R]{Operation: o, fn: fn, key: key}
	h.Cached = key != nil
	h.NewParams = func() any { return new(P) }
	h.answer = func(ctx context.Context, e *Engine, p any) (any, []byte, error) {
		pp, ok := p.(*P)
		if !ok || pp == nil {
			return nil, nil, invalid("params", "%s takes a %T, got %T", h.Name, pp, p)
		}
		res, hit, err := h.do(ctx, e, pp)
		if hit != nil {
			return nil, hit, nil // the stored result is not the caller's
		}
		return res, nil, err
	}
	h.call = func(ctx context.Context, e *Engine, raw []byte, asJSON bool) (any, []byte, error) {
		var p P
		if err := decodeParams(raw, &p); err != nil {
			return nil, nil, err
		}
		if asJSON {
			return h.answer(ctx, e, &p)
		}
		res, err := h.run(ctx, e, &p)
		return res, nil, err
	}
	return h
}

// usingModel sets the function that returns the model_id of an
// operation's params (see handler.model).
func (h *handler[P, R]) usingModel(model func(*P) string) *handler[P, R] {
	h.model = model
	return h
}

func noParams[R any](fn func(*Engine, context.Context) (*R, error)) func(*Engine, context.Context, *NoParams) (*R, error) {
	return func(e *Engine, ctx context.Context, _ *NoParams) (*R, error) { return fn(e, ctx) }
}

// run runs the operation for a typed caller: a cached answer is a copy of
// the stored result, or decoded from its stored encoding where the cache
// keeps bytes only (Redis, files).
func (h *handler[P, R]) run(ctx context.Context, e *Engine, p *P) (*R, error) {
	res, hit, err := h.do(ctx, e, p)
	if hit == nil {
		return res, err
	}
	if res != nil {
		return any(res).(cachedResult).cachedCopy().(*R), nil
	}
	r := new(R)
	if err := json.Unmarshal(hit, r); err != nil {
		// Not this version's encoding (a shared cache, say): computed
		// anew through do, which stores the fresh result over it.
		e.logger.Warn("cached result does not decode", "operation", h.Name, "error", err)
		res, _, err := h.do(WithoutCache(ctx), e, p)
		return res, err
	}
	return r, nil
}

// do checks the Engine, instruments the call, and answers from the result
// cache or computes (and stores) the result. On a cache hit it returns the
// stored encoding, which is the result's with "cached": true, and the
// stored result where the cache keeps it (shared: not to be modified).
func (h *handler[P, R]) do(ctx context.Context, e *Engine, p *P) (res *R, hit []byte, err error) {
	if err := e.check(); err != nil {
		return nil, nil, err
	}
	tn := TenantOf(ctx)
	if tn != "" && !tenant.Valid(tn) {
		return nil, nil, invalid("tenant", "%q is not a tenant name: 1 to %d of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit", truncate(tn, tenant.MaxLen), tenant.MaxLen)
	}
	if d := e.timeouts[b2i(h.LongRunning)]; d > 0 && !h.Quick {
		var cancel context.CancelFunc
		ctx, cancel = withTimeout(ctx, d)
		defer cancel()
	}
	ctx, span := e.startOp(ctx, h.Name)
	defer func() {
		if r := recover(); r != nil {
			e.logger.Error("operation panicked", "operation", h.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res, hit, err = nil, nil, &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("panic: %v", r)}
		}
		if span.Recording() {
			span.SetCached(hit != nil)
		}
		span.End(string(CodeOf(err)))
	}()
	if h.model != nil && e.modelStore != nil {
		if ctx, err = e.syncModelInto(ctx, h.model(p)); err != nil {
			return nil, nil, err
		}
	}
	var key string
	if h.key != nil && e.results != nil {
		if key, err = h.key(e, ctx, p); err != nil {
			return nil, nil, err
		}
		if tn != "" && key != "" {
			key = "t/" + tn + "/" + key // a tenant's results are its own
		}
		if key != "" && ctx.Value(freshKey{}) == nil {
			if b, v, ok := e.results.GetValue(ctx, resultKey(key)); ok {
				r, _ := v.(*R)
				return r, b, nil
			}
		}
	}
	if res, err = h.fn(e, ctx, p); err != nil || key == "" {
		return res, nil, err
	}
	e.store(ctx, key, res)
	return res, nil, nil
}

type freshKey struct{}

// WithoutCache returns a context whose calls are computed afresh, not
// answered from the result cache; their results are stored as usual, so
// later calls get the fresh answer.
func WithoutCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, true)
}

// withTimeout is context.WithTimeout, except that a ctx whose deadline
// comes first is kept as it is.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Call runs the named operation with JSON params and returns its typed
// result, a pointer to the operation's result struct (cached or not).
// Unknown operations give a not_found error; bad params an
// invalid_argument error naming the field. Call never panics on any input.
func (e *Engine) Call(ctx context.Context, op string, params json.RawMessage) (any, error) {
	o, err := lookup(op)
	if err != nil {
		return nil, err
	}
	res, _, err := o.call(ctx, e, params, false)
	return res, err
}

// CallJSON runs an operation like [Engine.Call] and returns the original's
// JSON response: the result's fields with "success": true, or
// {"success": false, "error": message, "code": code}. The code is also
// returned for transports that map it (to an HTTP status, say).
//
// CallJSON, Answer and Call do not keep params after they return, so
// callers may reuse its memory. The response CallJSON returns may be shared
// with the result cache: callers must treat it as read-only.
func (e *Engine) CallJSON(ctx context.Context, op string, params json.RawMessage) ([]byte, Code) {
	a := e.Answer(ctx, op, params)
	return a.Body, a.Code
}

// Answer is an operation's JSON response with what a transport may want to
// know about it besides.
type Answer struct {
	// Body is the JSON response, as [Engine.CallJSON] returns it
	// (read-only: it may be shared with the result cache).
	Body []byte
	// Code is CodeOK or the failure's code.
	Code Code
	// Err is the failure (nil on success); ErrorJSON(Err) is Body.
	Err error
	// Cached reports an answer served from the result cache.
	Cached bool
}

// Answer runs an operation like [Engine.CallJSON] and returns its response
// with the failure and whether the result cache served it.
func (e *Engine) Answer(ctx context.Context, op string, params json.RawMessage) Answer {
	o, err := lookup(op)
	if err != nil {
		return failed(err)
	}
	return answered(o.call(ctx, e, params, true))
}

// AnswerParams is [Engine.Answer] with the params decoded already: p is a
// pointer to the operation's params struct (the type [Operation.NewParams]
// returns), e.g. a *UnifiedParams for "unified_inference". Callers that
// hold typed params and want the JSON answer (a batch of generated tasks)
// skip the decoding.
func (e *Engine) AnswerParams(ctx context.Context, op string, p any) Answer {
	o, err := lookup(op)
	if err != nil {
		return failed(err)
	}
	return answered(o.answer(ctx, e, p))
}

// answered makes the Answer of a call: the stored encoding of a cache
// hit, or the result encoded, or the failure.
func answered(res any, hit []byte, err error) Answer {
	if hit != nil {
		return Answer{Body: hit, Code: CodeOK, Cached: true}
	}
	if err == nil {
		var b []byte
		if b, err = encodeResult(res); err == nil {
			return Answer{Body: b, Code: CodeOK}
		}
	}
	return failed(err)
}

func failed(err error) Answer {
	return Answer{Body: ErrorJSON(err), Code: CodeOf(err), Err: err}
}

func lookup(op string) (*Operation, error) {
	o, ok := table[op]
	if !ok {
		if op == "" {
			return nil, invalid("operation", "is required")
		}
		return nil, notFound("operation", "unknown operation %q (known: %s)", truncate(op, 64), strings.Join(names, ", "))
	}
	return o, nil
}

// decodeParams decodes a JSON object into p; empty input and null are an
// empty object.
func decodeParams(raw []byte, p any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if raw[0] != '{' {
		return invalid("params", "must be a JSON object")
	}
	if err := jsonx.Unmarshal(raw, p); err != nil {
		return decodeError("", err)
	}
	return nil
}

// encodeResult encodes an operation's result.
func encodeResult(res any) ([]byte, error) {
	if r, ok := res.(jsonAppender); ok {
		// Encode into a pooled buffer, then copy: one allocation of the
		// exact size, which make-and-copy does not zero first.
		p := encodeBuffers.Get().(*[]byte)
		b, err := r.AppendJSON((*p)[:0])
		var out []byte
		if err == nil {
			out = make([]byte, len(b))
			copy(out, b)
		}
		if cap(b) <= maxPooledEncodeBuffer {
			*p = b[:0]
			encodeBuffers.Put(p)
		}
		return out, err
	}
	b, err := json.Marshal(res)
	return b, unwrapMarshal(err)
}

// encodeBuffers holds the buffers results are encoded in.
var encodeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// maxPooledEncodeBuffer is the largest encode buffer kept for reuse.
const maxPooledEncodeBuffer = 64 << 10

// jsonAppender is implemented by results with a hand-written encoder.
type jsonAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// unwrapMarshal extracts the error a MarshalJSON method returned.
func unwrapMarshal(err error) error {
	var me *json.MarshalerError
	if errors.As(err, &me) {
		return me.Err
	}
	return err
}

// Request is the legacy request envelope {"operation": …, "params": …}.
type Request struct {
	Operation string          `json:"operation"`
	Params    json.RawMessage `json:"params,omitempty"`
}

// HandleRequest decodes a legacy request envelope and runs it with
// [Engine.CallJSON].
func (e *Engine) HandleRequest(ctx context.Context, body []byte) ([]byte, Code) {
	if len(bytes.TrimSpace(body)) == 0 {
		err := invalid("request", "body must be a JSON object {\"operation\": …, \"params\": …}")
		return ErrorJSON(err), CodeOf(err)
	}
	var r Request
	if err := decodeParams(body, &r); err != nil {
		if fe, ok := err.(*FieldError); ok && fe.Field == "params" {
			err = invalid("request", "%s", fe.Reason)
		}
		return ErrorJSON(err), CodeOf(err)
	}
	return e.CallJSON(ctx, r.Operation, r.Params)
}

// errorBody is the JSON shape of a failed operation.
type errorBody struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Code    Code   `json:"code"`
	Field   string `json:"field,omitempty"`
}

// ErrorJSON encodes err as {"success": false, "error": …, "code": …, "field": …}.
func ErrorJSON(err error) []byte {
	body := errorBody{Error: MessageOf(err), Code: CodeOf(err), Field: FieldOf(err)}
	b, _ := json.Marshal(body)
	return b
}

// MessageOf returns the message a client is told of err: its text, or
// "internal error" for an internal one, whose details stay in the logs
// ("" for nil).
func MessageOf(err error) string {
	if err == nil {
		return ""
	}
	if CodeOf(err) == CodeInternal {
		return "internal error"
	}
	return err.Error()
}

// FieldOf returns the request field err names (as in "config.num_layers"),
// or "" when it names none.
func FieldOf(err error) string {
	for err != nil {
		switch x := err.(type) {
		case *FieldError:
			return x.Field
		case *Error:
			if x.Field != "" {
				return x.Field
			}
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return ""
		}
		err = u.Unwrap()
	}
	return ""
}
