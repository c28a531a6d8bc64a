// Package modelstore keeps the models an Engine has loaded where other
// Engines, or the same service after a restart, find them: the backing
// store of the Engine's model registry (see dredge.WithModelStore).
//
// # The interface
//
// [Store] is small: reserve an id unique across every node ([Store.NewID]),
// create a model, update its values (each update bumps its version), get
// it, read its version cheaply, delete it, list the stored models. A
// stored [Model] is what rebuilds it: type, [stringtheory.Config], the flat
// vector of values, and the version a node compares with its copy's.
//
// # Implementations
//
//   - [Memory]: in the process's memory; Engines given the same *Memory
//     share models as nodes do (tests, several Engines in one process);
//   - [Dir]: a directory on local disk (MODEL_STORE_DIR), files written
//     atomically, so that one node keeps its models across restarts and
//     crashes;
//   - [Redis]: a Redis server or Cluster through rueidis, shared by every
//     node; ids from INCR counters, records changed by atomic scripts.
//
// Package [github.com/dredge-cli/dredge/modelstore/storetest] is the
// conformance suite that each passes.
//
// # Errors
//
// A store's errors wrap [ErrNotFound], [ErrExists], [ErrUnavailable]
// (cannot reach or read the store), [ErrInvalidArgument] or [ErrClosed],
// or are the context's error.
package modelstore
