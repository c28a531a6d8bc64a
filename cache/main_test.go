package cache_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind: every
// cache must stop its goroutines (ristretto's, rueidis's) in Close.
// helperMain runs the second process of TestFileSharedDir.
func TestMain(m *testing.M) {
	if helperMain() {
		return
	}
	goleak.VerifyTestMain(m,
		// rueidis.NewClient first tries a cluster client; when the server
		// is not a cluster, that client's connection close hook schedules
		// a topology refresh that sleeps up to about a second before it
		// finds the client closed and returns. It is transient.
		goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1"),
		// A cluster client (TestRedisCluster) closed while its nodes went
		// away leaves a topology refresh sleeping out its retry delay (5s)
		// before it finds the client closed. Also transient.
		goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*clusterClient)._refresh.func2"),
	)
}
