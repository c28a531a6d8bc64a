package testengine

import (
	"testing"

	"github.com/dredge-cli/dredge"
)

// New returns an Engine on the CPU device configured by opts, closed when
// tb ends; a failure to build it fails tb.
func New(tb testing.TB, opts ...dredge.Option) *dredge.Engine {
	tb.Helper()
	e, err := dredge.New(append([]dredge.Option{dredge.WithDeviceKind("cpu")}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = e.Close() })
	return e
}
