package dredge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/dredge-cli/dredge/stringtheory"
)

// Code is a stable, machine-readable error code of an operation's failure.
type Code string

// Error codes, as the operation table reports them in "code".
const (
	CodeOK              Code = ""
	CodeInvalidArgument Code = "invalid_argument"
	CodeNotFound        Code = "not_found"
	CodeUnavailable     Code = "unavailable"
	CodeInternal        Code = "internal"
	CodeUnauthenticated Code = "unauthenticated"
	CodeRateLimited     Code = "rate_limited"
	// CodeResourceExhausted reports a request refused because a budget
	// (the model memory limit) is spent; what is loaded stays.
	CodeResourceExhausted Code = "resource_exhausted"
)

// Sentinel errors. Every error an operation returns wraps one of them, so
// that errors.Is(err, ErrInvalidArgument) and friends tell the class.
var (
	// ErrInvalidArgument reports bad input; the error names the field.
	ErrInvalidArgument = stringtheory.ErrInvalidArgument
	// ErrNotFound reports an unknown operation or model.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable reports a missing dependency or exhausted capacity.
	ErrUnavailable = errors.New("unavailable")
	// ErrResourceExhausted reports a spent budget (the model memory limit).
	ErrResourceExhausted = errors.New("resource exhausted")
	// ErrClosed reports use of a closed Engine.
	ErrClosed = errors.New("dredge: engine closed")
)

// FieldError reports bad input and names the field at fault.
type FieldError = stringtheory.FieldError

// Error is an operation's failure: a code, the field at fault (if any) and
// a human-readable message. It wraps the underlying error.
type Error struct {
	Code    Code
	Field   string
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf classifies err into a [Code]; nil gives [CodeOK].
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK // before e, which escapes: no allocation on success
	}
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, ErrInvalidArgument):
		return CodeInvalidArgument
	case errors.Is(err, ErrNotFound):
		return CodeNotFound
	case errors.Is(err, ErrResourceExhausted):
		return CodeResourceExhausted
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrClosed),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return CodeUnavailable
	}
	return CodeInternal
}

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

func notFound(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: CodeNotFound, Field: field, Message: field + ": " + msg, Err: fmt.Errorf("%w: %s", ErrNotFound, msg)}
}

// decodeError turns a JSON decoding error into a *FieldError naming the
// field (prefixed by prefix) where the decoder stopped.
func decodeError(prefix string, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		if prefix != "" && !strings.HasPrefix(fe.Field, prefix) {
			return &FieldError{Field: join(prefix, fe.Field), Reason: fe.Reason}
		}
		return fe
	case errors.As(err, &te):
		// An element of a strict list (Floats, Ints, ParamValue) is
		// "[i]" after the field's path: "quasimoto_coords.[1]".
		field := strings.ReplaceAll(join(prefix, te.Field), ".[", "[")
		if field == "" {
			field = "params"
		}
		what := te.Value
		if num, ok := strings.CutPrefix(what, "number "); ok && te.Type.Kind() == reflect.Float64 {
			return invalid(field, "must be a finite number, got %s", num)
		}
		if strings.HasPrefix(what, "number ") {
			return invalid(field, "%s does not fit %s", what, goTypeName(te.Type.String()))
		}
		return invalid(field, "must be %s, got %s", goTypeName(te.Type.String()), what)
	case errors.As(err, &se):
		return invalid(orParams(prefix), "malformed JSON at byte %d: %v", se.Offset, se)
	}
	return invalid(orParams(prefix), "%v", err)
}

func orParams(p string) string {
	if p == "" {
		return "params"
	}
	return p
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "." + b
}

// goTypeName turns a Go type into words for an error message.
func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "struct"), strings.HasPrefix(t, "dredge."):
		return "an object"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), t == "*int":
		return "an integer"
	case strings.HasPrefix(t, "float"), t == "*float64":
		return "a number"
	case t == "string", t == "*string":
		return "a string"
	case t == "bool", t == "*bool":
		return "a boolean"
	}
	return t
}
