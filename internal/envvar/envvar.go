package envvar

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// Lookup returns a variable's value and whether it is set, as [os.LookupEnv]
// does. Tests pass a map's lookup instead of touching the process environment.
type Lookup func(name string) (string, bool)

// Error reports a variable whose value does not parse.
type Error struct {
	Name  string // the variable, e.g. "CACHE_TTL"
	Value string // its value as set
	Err   error  // what the value must be, e.g. "must be an integer"
}

func (e *Error) Error() string { return e.Name + ": " + e.Reason() }

// Reason is the message without the variable's name: what the value must
// be and the value itself, quoted and cut to 32 bytes.
func (e *Error) Reason() string {
	v := e.Value
	if len(v) > 32 {
		v = v[:32] + "…"
	}
	return e.Err.Error() + ", got " + strconv.Quote(v)
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// ErrNotBool reports a value that is not a boolean.
var ErrNotBool = errors.New("must be true or false")

// A Reader reads variables through Lookup (nil: [os.LookupEnv]). Each
// method takes the variable's name and its default. A variable that is
// unset or blank yields the default; surrounding spaces are ignored. A value
// that does not parse yields the default too, and an [*Error] naming the
// variable is recorded, passed through Wrap (when not nil) so that callers
// get their own error type; [Reader.Err] and [Reader.Errs] return them.
type Reader struct {
	Lookup Lookup
	Wrap   func(*Error) error
	errs   []error
}

// Add records err, a failure the caller found itself, as it is.
func (r *Reader) Add(err error) { r.errs = append(r.errs, err) }

// Err returns the first error recorded, or nil.
func (r *Reader) Err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return r.errs[0]
}

// Errs returns every error recorded, joined by [errors.Join], or nil.
func (r *Reader) Errs() error { return errors.Join(r.errs...) }

// read returns parse's result for the trimmed value of name, or def.
func read[T any](r *Reader, name string, def T, parse func(string) (T, error)) T {
	lookup := r.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	raw, _ := lookup(name)
	v := strings.TrimSpace(raw)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		e := &Error{Name: name, Value: raw, Err: err}
		if r.Wrap == nil {
			r.Add(e)
		} else {
			r.Add(r.Wrap(e))
		}
		return def
	}
	return x
}

// String returns the value, without surrounding spaces.
func (r *Reader) String(name, def string) string {
	return read(r, name, def, func(v string) (string, error) { return v, nil })
}

// Enum returns the value in lower case; it must be one of allowed (given in
// lower case), in any case.
func (r *Reader) Enum(name, def string, allowed ...string) string {
	return read(r, name, def, func(v string) (string, error) {
		if v = strings.ToLower(v); slices.Contains(allowed, v) {
			return v, nil
		}
		last := len(allowed) - 1
		return "", fmt.Errorf("must be %s or %s", strings.Join(allowed[:last], ", "), allowed[last])
	})
}

// Level parses a log level: debug, info, warn or error (slog's names,
// with an optional offset such as warn+2).
func (r *Reader) Level(name string, def slog.Level) slog.Level {
	return read(r, name, def, func(v string) (slog.Level, error) {
		var l slog.Level
		if l.UnmarshalText([]byte(v)) != nil {
			return l, errors.New("must be debug, info, warn or error")
		}
		return l, nil
	})
}

// Bool parses the value with [ParseBool].
func (r *Reader) Bool(name string, def bool) bool {
	return read(r, name, def, ParseBool)
}

// Int parses a decimal integer between lo and hi.
func (r *Reader) Int(name string, def, lo, hi int) int {
	return int(r.Int64(name, int64(def), int64(lo), int64(hi)))
}

// Int64 parses a decimal integer between lo and hi; hi [math.MaxInt64]
// means no upper bound.
func (r *Reader) Int64(name string, def, lo, hi int64) int64 {
	return read(r, name, def, func(v string) (int64, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			return 0, errors.New("must be an integer")
		case n >= lo && n <= hi:
			return n, nil
		case hi == math.MaxInt64:
			return 0, fmt.Errorf("must be %d or more", lo)
		}
		return 0, fmt.Errorf("must be between %d and %d", lo, hi)
	})
}

// Bytes parses a positive size in bytes with an optional unit (KB, MB, GB
// in powers of 1000; KiB, MiB, GiB in powers of 1024), e.g. 8GiB.
func (r *Reader) Bytes(name string, def int64) int64 {
	return read(r, name, def, func(v string) (int64, error) {
		n, err := humanize.ParseBytes(v)
		if err != nil || n < 1 || n > math.MaxInt64 {
			return 0, errors.New("must be a size in bytes such as 8GiB or 500MB")
		}
		return int64(n), nil
	})
}

// Seconds parses a duration written in seconds, decimals allowed (1.5 is
// 1.5 s), between 0 and hi; hi [math.MaxInt64] means no upper bound. An
// explicit 0 yields zero, and is rejected where zero is 0. A positive value
// that rounds to 0 yields 1 ns.
func (r *Reader) Seconds(name string, def, zero, hi time.Duration) time.Duration {
	return read(r, name, def, func(v string) (time.Duration, error) {
		return seconds(v, zero, hi, "must be a number of seconds")
	})
}

// Duration is [Reader.Seconds] that also accepts a Go duration such as 90m
// ([time.ParseDuration]).
func (r *Reader) Duration(name string, def, zero, hi time.Duration) time.Duration {
	return read(r, name, def, func(v string) (time.Duration, error) {
		d, err := seconds(v, zero, hi, "must be seconds (e.g. 3600) or a duration (e.g. 1h)")
		if pd, perr := time.ParseDuration(v); err != nil && perr == nil {
			d, err = inRange(pd, zero, hi)
		}
		return d, err
	})
}

func seconds(v string, zero, hi time.Duration, syntax string) (time.Duration, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) {
		return 0, errors.New(syntax)
	}
	ns := f * float64(time.Second)
	if ns < 0 || ns >= math.MaxInt64 || ns > float64(hi) {
		return 0, rangeError(hi)
	}
	if ns == 0 {
		return inRange(0, zero, hi)
	}
	return inRange(max(time.Duration(ns), 1), zero, hi) // 1 ns for a positive value that rounds to 0
}

func inRange(d, zero, hi time.Duration) (time.Duration, error) {
	switch {
	case d == 0 && zero != 0:
		return zero, nil
	case d <= 0 || d > hi:
		return 0, rangeError(hi)
	}
	return d, nil
}

func rangeError(hi time.Duration) error {
	if hi == math.MaxInt64 {
		return errors.New("must be 0 seconds or more")
	}
	return fmt.Errorf("must be between 0 and %s seconds", strconv.FormatFloat(hi.Seconds(), 'f', -1, 64))
}

// ParseBool parses a boolean as strconv.ParseBool does (1, t, true, 0, f,
// false in any case) and also yes/no and on/off, ignoring surrounding spaces.
func ParseBool(s string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "yes", "on":
		return true, nil
	case "no", "off":
		return false, nil
	default:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, ErrNotBool
		}
		return b, nil
	}
}
