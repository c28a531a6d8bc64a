package mcp

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind: every
// session, HTTP stream and Engine a test opens must be closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
