// Package envcheck holds no code, only a test: that the repository's
// .env.example lists every environment variable the module's code reads,
// each with one line of explanation, and nothing the code no longer reads.
//
// # How the code is read
//
// The test type-checks the module's packages (go/types, with the export
// data that `go list -export` builds) and finds every call that reads a
// variable: [os.Getenv], [os.LookupEnv], a call of an envvar.Lookup value,
// and, found by the same rule wherever they are, functions that pass one of
// their parameters on as the name of such a call (every envvar.Reader
// method, an envOr helper). The name must be a constant — a literal or a
// named constant from any package — so that the list is exact; a read whose
// name is computed fails the test rather than going unlisted.
//
// # What counts as code
//
// Every non-test file of the main module for the default build (no build
// tags): the library, the adapters, the examples — they are the binaries
// that get deployed. Files ending in _test.go and files that import
// "testing" (test helpers such as internal/golden and internal/testredis)
// are not: what they read (DREDGE_GOLDEN_DIR, FAULT_SIZE, QUEUE_SOAK, CI)
// are knobs of a test run, not settings of a deployment. Writes
// ([os.Setenv]) are not reads. Variables that dependencies read on their
// own (the OpenTelemetry SDK's OTEL_* beyond those monitor reads, the Go
// runtime's GOMAXPROCS) are not the module's to list, though .env.example
// may mention them in prose.
package envcheck
