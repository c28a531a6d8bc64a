package envvar

import (
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseBool(t *testing.T) {
	for s, want := range map[string]bool{"1": true, "true": true, " TRUE ": true, "t": true, "yes": true, "On": true,
		"0": false, "false": false, "F": false, "no": false, " off": false} {
		if got, err := ParseBool(s); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "maybe", "2", "yess"} {
		if _, err := ParseBool(s); err == nil {
			t.Errorf("ParseBool(%q) accepted", s)
		}
	}
}

func env(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestReader reads V, set to value, with each method; def is what a bad
// value yields. wantErr is the whole message of the error, "" for none.
func TestReader(t *testing.T) {
	const year = 365 * 24 * time.Hour
	tests := []struct {
		name    string
		read    func(r *Reader) any
		value   string
		want    any
		wantErr string
	}{
		{"string", func(r *Reader) any { return r.String("V", "def") }, "  a b ", "a b", ""},
		{"string blank", func(r *Reader) any { return r.String("V", "def") }, " \t", "def", ""},

		{"enum", func(r *Reader) any { return r.Enum("V", "x", "auto", "cpu", "cuda") }, " CPU ", "cpu", ""},
		{"enum bad", func(r *Reader) any { return r.Enum("V", "x", "auto", "cpu", "cuda") }, "tpu", "x", `V: must be auto, cpu or cuda, got "tpu"`},

		{"bool", func(r *Reader) any { return r.Bool("V", false) }, "Yes", true, ""},
		{"bool false", func(r *Reader) any { return r.Bool("V", true) }, "0", false, ""},
		{"bool bad", func(r *Reader) any { return r.Bool("V", true) }, "maybe", true, `V: must be true or false, got "maybe"`},

		{"int", func(r *Reader) any { return r.Int("V", 5, 1, 10) }, " 10 ", 10, ""},
		{"int low", func(r *Reader) any { return r.Int("V", 5, 1, 10) }, "0", 5, `V: must be between 1 and 10, got "0"`},
		{"int high", func(r *Reader) any { return r.Int("V", 5, 1, 10) }, "11", 5, `V: must be between 1 and 10, got "11"`},
		{"int syntax", func(r *Reader) any { return r.Int("V", 5, 1, 10) }, "1.5", 5, `V: must be an integer, got "1.5"`},
		{"int64", func(r *Reader) any { return r.Int64("V", 0, 1, 1<<40) }, "1099511627776", int64(1 << 40), ""},
		{"int64 overflow", func(r *Reader) any { return r.Int64("V", 0, 1, math.MaxInt64) }, "9223372036854775808", int64(0), `V: must be an integer, got "9223372036854775808"`},
		{"int64 no upper bound", func(r *Reader) any { return r.Int64("V", 7, 0, math.MaxInt64) }, "-1", int64(7), `V: must be 0 or more, got "-1"`},

		{"bytes", func(r *Reader) any { return r.Bytes("V", 0) }, "8GiB", int64(8 << 30), ""},
		{"bytes decimal unit", func(r *Reader) any { return r.Bytes("V", 0) }, "500 MB", int64(500e6), ""},
		{"bytes plain", func(r *Reader) any { return r.Bytes("V", 0) }, "1024", int64(1024), ""},
		{"bytes zero", func(r *Reader) any { return r.Bytes("V", 3) }, "0", int64(3), `V: must be a size in bytes such as 8GiB or 500MB, got "0"`},
		{"bytes bad", func(r *Reader) any { return r.Bytes("V", 3) }, "lots", int64(3), `V: must be a size in bytes such as 8GiB or 500MB, got "lots"`},
		{"bytes too big", func(r *Reader) any { return r.Bytes("V", 3) }, "9EiB", int64(3), `V: must be a size in bytes such as 8GiB or 500MB, got "9EiB"`},

		{"seconds", func(r *Reader) any { return r.Seconds("V", 0, 0, year) }, "1.5", 1500 * time.Millisecond, ""},
		{"seconds max", func(r *Reader) any { return r.Seconds("V", 0, 0, year) }, "31536000", year, ""},
		{"seconds tiny", func(r *Reader) any { return r.Seconds("V", 0, 0, year) }, "1e-12", time.Duration(1), ""},
		{"seconds zero off", func(r *Reader) any { return r.Seconds("V", 0, -1, year) }, "0", time.Duration(-1), ""},
		{"seconds zero rejected", func(r *Reader) any { return r.Seconds("V", 2, 0, year) }, "0", time.Duration(2), `V: must be between 0 and 31536000 seconds, got "0"`},
		{"seconds negative", func(r *Reader) any { return r.Seconds("V", 2, -1, year) }, "-3", time.Duration(2), `V: must be between 0 and 31536000 seconds, got "-3"`},
		{"seconds tiny negative", func(r *Reader) any { return r.Seconds("V", 2, -1, year) }, "-1e-12", time.Duration(2), `V: must be between 0 and 31536000 seconds, got "-1e-12"`},
		{"seconds huge", func(r *Reader) any { return r.Seconds("V", 2, 0, year) }, "1e300", time.Duration(2), `V: must be between 0 and 31536000 seconds, got "1e300"`},
		{"seconds Go syntax", func(r *Reader) any { return r.Seconds("V", 2, 0, year) }, "1m", time.Duration(2), `V: must be a number of seconds, got "1m"`},
		{"seconds NaN", func(r *Reader) any { return r.Seconds("V", 2, 0, year) }, "NaN", time.Duration(2), `V: must be a number of seconds, got "NaN"`},

		{"duration seconds", func(r *Reader) any { return r.Duration("V", 0, -1, math.MaxInt64) }, "90", 90 * time.Second, ""},
		{"duration Go", func(r *Reader) any { return r.Duration("V", 0, -1, math.MaxInt64) }, "1h30m", 90 * time.Minute, ""},
		{"duration zero", func(r *Reader) any { return r.Duration("V", 0, -1, math.MaxInt64) }, "0s", time.Duration(-1), ""},
		{"duration negative Go", func(r *Reader) any { return r.Duration("V", 4, -1, math.MaxInt64) }, "-5m", time.Duration(4), `V: must be 0 seconds or more, got "-5m"`},
		{"duration negative", func(r *Reader) any { return r.Duration("V", 4, -1, math.MaxInt64) }, "-5", time.Duration(4), `V: must be 0 seconds or more, got "-5"`},
		{"duration overflow", func(r *Reader) any { return r.Duration("V", 4, -1, math.MaxInt64) }, "1e10", time.Duration(4), `V: must be 0 seconds or more, got "1e10"`},
		{"duration above max", func(r *Reader) any { return r.Duration("V", 4, -1, time.Hour) }, "2h", time.Duration(4), `V: must be between 0 and 3600 seconds, got "2h"`},
		{"duration bad", func(r *Reader) any { return r.Duration("V", 4, -1, math.MaxInt64) }, "soon", time.Duration(4), `V: must be seconds (e.g. 3600) or a duration (e.g. 1h), got "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Reader{Lookup: env(map[string]string{"V": tt.value})}
			if got := tt.read(r); got != tt.want {
				t.Errorf("got %v (%T), want %v (%T)", got, got, tt.want, tt.want)
			}
			err := r.Err()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Name != "V" || e.Value != tt.value || err.Error() != tt.wantErr {
				t.Fatalf("err = %v (%#v), want an *Error %q", err, err, tt.wantErr)
			}
			// Unset and blank variables keep the default without an error.
			for _, m := range []map[string]string{nil, {"V": "  "}} {
				r := &Reader{Lookup: env(m)}
				if got := tt.read(r); got != tt.want || r.Err() != nil {
					t.Errorf("with %v: got %v, %v; want the default %v", m, got, r.Err(), tt.want)
				}
			}
		})
	}
}

type wrapped struct{ name, reason string }

func (w *wrapped) Error() string { return "wrapped " + w.name + ": " + w.reason }

func TestReaderErrors(t *testing.T) {
	r := &Reader{
		Lookup: env(map[string]string{"A": "x", "B": "2", "C": strings.Repeat("y", 40)}),
		Wrap:   func(e *Error) error { return &wrapped{e.Name, e.Reason()} },
	}
	r.Int("A", 0, 0, 1)
	r.Int("B", 0, 0, 1)
	own := errors.New("the caller's own")
	r.Add(own)
	r.Bool("C", false)
	if w, ok := r.Err().(*wrapped); !ok || w.name != "A" || w.reason != `must be an integer, got "x"` {
		t.Errorf("Err() = %#v, want the first, wrapped", r.Err())
	}
	want := `wrapped A: must be an integer, got "x"
wrapped B: must be between 0 and 1, got "2"
the caller's own
wrapped C: must be true or false, got "` + strings.Repeat("y", 32) + `…"`
	if got := r.Errs(); got == nil || got.Error() != want || !errors.Is(got, own) {
		t.Errorf("Errs() = %v\nwant %s", got, want)
	}
	if err := (&Reader{}).Errs(); err != nil {
		t.Errorf("no errors: Errs() = %v", err)
	}
}

func TestReaderUnwrap(t *testing.T) {
	r := &Reader{Lookup: env(map[string]string{"B": "maybe"})}
	r.Bool("B", false)
	if !errors.Is(r.Err(), ErrNotBool) {
		t.Errorf("Err() = %v, want one wrapping ErrNotBool", r.Err())
	}
}

func TestReaderProcessEnvironment(t *testing.T) {
	t.Setenv("DREDGE_ENVVAR_TEST", " 42 ")
	var r Reader
	if got := r.Int("DREDGE_ENVVAR_TEST", 0, 0, 100); got != 42 || r.Err() != nil {
		t.Errorf("Int = %d, %v; want 42 from the process environment", got, r.Err())
	}
}

func TestReaderLevel(t *testing.T) {
	env := map[string]string{"A": "debug", "B": " WARN ", "C": "loud"}
	r := Reader{Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	if a, b, d := r.Level("A", slog.LevelInfo), r.Level("B", slog.LevelInfo), r.Level("D", slog.LevelError); a != slog.LevelDebug || b != slog.LevelWarn || d != slog.LevelError {
		t.Errorf("levels %v %v %v", a, b, d)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	r.Level("C", slog.LevelInfo)
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "C: must be debug, info, warn or error") {
		t.Errorf("C=loud: %v", err)
	}
}
