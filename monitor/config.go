package monitor

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/dredge-cli/dredge/internal/envvar"
)

// DefaultServiceName is the service.name resource attribute used when
// [Config.ServiceName] is empty.
const DefaultServiceName = "dredge"

// Config configures a [Monitor]. The zero value is the default: metrics on,
// tracing on but not exported (spans cost next to nothing and go nowhere
// until an OTLP endpoint is set).
type Config struct {
	// DisableMetrics replaces the meter provider with a no-op one: nothing is
	// recorded, /metrics serves an empty exposition and [Monitor.Snapshot]
	// returns empty maps.
	DisableMetrics bool

	// DisableTracing replaces the tracer provider with a no-op one even when
	// an OTLP endpoint is set.
	DisableTracing bool

	// ServiceName and ServiceVersion become the service.name and
	// service.version resource attributes (the target_info metric and every
	// exported span). ServiceName defaults to [DefaultServiceName].
	ServiceName    string
	ServiceVersion string

	// OTLPEndpoint is the base URL of an OTLP/HTTP collector, with the
	// meaning of OTEL_EXPORTER_OTLP_ENDPOINT: "/v1/traces" is appended to its
	// path, and an http:// scheme turns TLS off. When it (or
	// OTLPTracesEndpoint) is set and tracing is not disabled, spans are
	// sampled by the SDK (OTEL_TRACES_SAMPLER, default parent-based always-on)
	// and exported in batches (OTEL_BSP_*). Other OTEL_EXPORTER_OTLP_*
	// variables (headers, timeout, compression, certificates) are read by the
	// exporter itself.
	OTLPEndpoint string

	// OTLPTracesEndpoint is the full URL spans are posted to, with the meaning
	// of OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; it takes precedence over
	// OTLPEndpoint.
	OTLPTracesEndpoint string

	// Logger receives the monitor's own diagnostics (exporter set-up, errors
	// serving /metrics). Nil discards them.
	Logger *slog.Logger
}

// EnvError reports an environment variable whose value could not be parsed.
type EnvError struct {
	Name  string // the variable, e.g. "METRICS_ENABLED"
	Value string // its value
	Err   error  // why it was rejected
}

func (e *EnvError) Error() string {
	return fmt.Sprintf("monitor: environment variable %s=%q: %v", e.Name, e.Value, e.Err)
}

func (e *EnvError) Unwrap() error { return e.Err }

// ConfigFromEnv builds a [Config] from the environment:
//
//   - METRICS_ENABLED (default true): false disables metrics.
//   - TRACING_ENABLED (default true): false disables tracing.
//   - OTEL_SDK_DISABLED: true disables both.
//   - OTEL_SERVICE_NAME: [Config.ServiceName].
//   - OTEL_EXPORTER_OTLP_ENDPOINT: [Config.OTLPEndpoint].
//   - OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: [Config.OTLPTracesEndpoint].
//
// Booleans accept what [strconv.ParseBool] accepts plus yes/no and on/off,
// in any case; an empty variable counts as unset. A value that does not parse
// yields an [*EnvError] naming the first such variable and a zero Config.
func ConfigFromEnv() (Config, error) {
	return configFromLookup(os.LookupEnv)
}

func configFromLookup(lookup envvar.Lookup) (Config, error) {
	r := envvar.Reader{Lookup: lookup, Wrap: func(e *envvar.Error) error { return &EnvError{Name: e.Name, Value: e.Value, Err: e.Err} }}
	metrics, tracing := r.Bool("METRICS_ENABLED", true), r.Bool("TRACING_ENABLED", true)
	sdkDisabled := r.Bool("OTEL_SDK_DISABLED", false)
	if err := r.Err(); err != nil {
		return Config{}, err
	}
	return Config{
		DisableMetrics:     !metrics || sdkDisabled,
		DisableTracing:     !tracing || sdkDisabled,
		ServiceName:        r.String("OTEL_SERVICE_NAME", ""),
		OTLPEndpoint:       r.String("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
		OTLPTracesEndpoint: r.String("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
	}, nil
}
