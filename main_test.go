package dredge_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind: an
// Engine's Close must stop its cache's and monitor's goroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// rueidis's transient topology refresh after Close (see cache's TestMain).
		goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1"),
	)
}
