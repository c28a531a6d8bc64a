package httpapi

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind (a
// server not shut down, an Engine not closed).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
