package dredge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/internal/jsonx"
)

// NoParams are the parameters of operations that take none.
type NoParams struct{}

// Operation describes one entry of the operation table.
type Operation struct {
	// Name is the operation's name, e.g. "unified_inference".
	Name string
	// Description says what the operation does.
	Description string
	// NewParams returns a pointer to a zero value of the operation's
	// parameter struct (for schema generation by adapters).
	NewParams func() any
	call      func(ctx context.Context, e *Engine, raw []byte) (any, error)
}

// def builds a table entry from a typed method.
func def[P any, R any](name, desc string, fn func(*Engine, context.Context, *P) (R, error)) Operation {
	return Operation{
		Name:        name,
		Description: desc,
		NewParams:   func() any { return new(P) },
		call: func(ctx context.Context, e *Engine, raw []byte) (any, error) {
			var p P
			var rawK, key cache.Key
			var rawSlot uint64
			_, byRaw := any(&p).(rawCacheable)
			byRaw = byRaw && e.results != nil && len(raw) <= maxRawKeyBytes
			if byRaw {
				// Looked up by its bytes only when this Engine may have
				// stored an entry for them: see rawFilter.
				rawSlot = e.rawStored.slot(name, raw)
				if e.rawStored.has(rawSlot) {
					rawK = resolve(rawKey{op: name, params: raw})
					if body, ok := e.cacheGet(ctx, rawK, false); ok {
						return json.RawMessage(body), nil
					}
				}
			}
			if err := decodeParams(raw, &p); err != nil {
				return nil, err
			}
			if c, ok := any(&p).(cacheable); ok && e.results != nil {
				k, err := c.cacheKey(e)
				if err != nil {
					return nil, err
				}
				if k != nil {
					key = resolve(k)
					if body, ok := e.cacheGet(ctx, key, true); ok {
						body = markCached(body)
						if byRaw {
							if rawK == nil {
								rawK = resolve(rawKey{op: name, params: raw})
							}
							e.results.Set(ctx, rawK, body)
							e.rawStored.add(rawSlot)
						}
						return json.RawMessage(body), nil
					}
				}
			}
			res, err := fn(e, ctx, &p)
			if err != nil || key == nil {
				return res, err
			}
			body, err := encodeResult(res)
			if err != nil {
				return nil, err
			}
			// One store per miss, of the answer itself ("cached": false),
			// without a copy: a hit on the canonical key makes the
			// "cached": true answer once and stores it under the
			// exact-request key, which repeated requests hit.
			e.results.Set(ctx, key, body)
			return encoded{res: res, body: body}, nil
		},
	}
}

func noParams[R any](fn func(*Engine, context.Context) (R, error)) func(*Engine, context.Context, *NoParams) (R, error) {
	return func(e *Engine, ctx context.Context, _ *NoParams) (R, error) { return fn(e, ctx) }
}

var (
	tableOnce sync.Once
	table     map[string]Operation
	names     []string
)

// operationTable is THE operation table: every adapter dispatches through it.
func operationTable() map[string]Operation {
	tableOnce.Do(func() {
		ops := []Operation{
			def("list_capabilities", "List the model types, operations and features (caching, metrics, device).", noParams((*Engine).Capabilities)),
			def("load_model", "Create a model of a type (optionally restoring parameters) and return its model_id.", (*Engine).LoadModel),
			def("inference", "Evaluate a loaded model at a batch of points.", (*Engine).Inference),
			def("get_parameters", "Return a loaded model's named parameters with shapes.", (*Engine).GetParameters),
			def("benchmark", "Train a model with Adam on its data set and report losses and time; with model_id, train that loaded model in place.", (*Engine).Benchmark),
			def("string_spectrum", "Energy levels E_n = n/2 of a vibrating string for n = 1..max_modes.", (*Engine).StringSpectrum),
			def("string_parameters", "String length, tension and constants for an energy scale and coupling.", (*Engine).StringParameters),
			def("unified_inference", "Couple an insight with Quasimoto coordinates and string modes: coupled amplitude and unified field.", (*Engine).UnifiedInference),
			def("get_metrics", "Counters, gauges, histograms and timers of the operations served.", noParams((*Engine).Metrics)),
			def("get_cache_stats", "Result cache statistics: backend, hits, misses, hit rate, entries.", noParams((*Engine).CacheStats)),
			def("lift", "Lift an insight: its id is the SHA-256 hex of the text.", (*Engine).Lift),
		}
		table = make(map[string]Operation, len(ops))
		for _, o := range ops {
			table[o.Name] = o
			names = append(names, o.Name)
		}
		sort.Strings(names)
	})
	return table
}

// Operations returns the names of all operations, sorted.
func Operations() []string {
	operationTable()
	return append([]string(nil), names...)
}

// LookupOperation returns the table entry of an operation.
func LookupOperation(name string) (Operation, bool) {
	o, ok := operationTable()[name]
	return o, ok
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

// Call runs the named operation with JSON params and returns its typed
// result (a pointer to the operation's result struct), or, when the result
// came from the cache, its JSON encoding as a [json.RawMessage]. Unknown operations
// give a not_found error; bad params an invalid_argument error naming the
// field. Call never panics on any input.
func (e *Engine) Call(ctx context.Context, op string, params json.RawMessage) (any, error) {
	res, err := e.call(ctx, op, params)
	if r, ok := res.(encoded); ok {
		return r.res, err
	}
	return res, err
}

func (e *Engine) call(ctx context.Context, op string, params json.RawMessage) (res any, err error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	o, ok := operationTable()[op]
	if !ok {
		if op == "" {
			return nil, invalid("operation", "is required")
		}
		return nil, notFound("operation", "unknown operation %q (known: %s)", truncate(op, 64), strings.Join(names, ", "))
	}
	ctx, span := e.startOp(ctx, op)
	defer func() {
		if r := recover(); r != nil {
			e.logger.Error("operation panicked", "operation", op, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res, err = nil, &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("panic: %v", r)}
		}
		if span.Recording() {
			if _, hit := res.(json.RawMessage); hit {
				span.SetCached(true)
			}
		}
		span.End(string(CodeOf(err)))
	}()
	return o.call(ctx, e, params)
}

// CallJSON and Call do not keep params after they return, so callers may
// reuse its memory. The response they return may be shared with the result
// cache: callers must treat it as read-only.
//
// CallJSON runs an operation like [Engine.Call] and returns the original's
// JSON response: the result's fields with "success": true, or
// {"success": false, "error": message, "code": code}. The code is also
// returned for transports that map it (to an HTTP status, say).
func (e *Engine) CallJSON(ctx context.Context, op string, params json.RawMessage) ([]byte, Code) {
	res, err := e.call(ctx, op, params)
	if err == nil {
		var b []byte
		if b, err = encodeResult(res); err == nil {
			return b, CodeOK
		}
	}
	return ErrorJSON(err), CodeOf(err)
}

// maxRawKeyBytes bounds the params hashed as an exact-request cache key.
const maxRawKeyBytes = 4096

// encoded is a result together with its JSON encoding.
type encoded struct {
	res  any
	body []byte
}

// encodeResult encodes an operation's result.
func encodeResult(res any) ([]byte, error) {
	switch r := res.(type) {
	case encoded:
		return r.body, nil
	case json.RawMessage:
		return r, nil
	case jsonAppender:
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
	body := errorBody{Error: err.Error(), Code: CodeOf(err)}
	if fe := fieldOf(err); fe != "" {
		body.Field = fe
	}
	if body.Code == CodeInternal {
		body.Error = "internal error"
	}
	b, _ := json.Marshal(body)
	return b
}

func fieldOf(err error) string {
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
