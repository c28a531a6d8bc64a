// Package storetest is the conformance suite of [modelstore.Store]: every
// implementation, in this module or outside it, runs it, as handlers run
// testing/slogtest.
//
// # Usage
//
//	func TestMemory(t *testing.T) {
//		storetest.Run(t, storetest.Backend{
//			New: func(t *testing.T) modelstore.Store { return modelstore.NewMemory() },
//			Reopen: func(t *testing.T, s modelstore.Store) modelstore.Store { return s },
//		})
//	}
//
// [Run] asks for a fresh, empty store per subtest and closes it afterwards.
// A backend shared between tests (a Redis server) must give each store its
// own key space, e.g. a unique key prefix per call.
//
// # What it checks
//
//   - ids are "<type>_<n>", n counting from 0 per type without gaps or
//     repeats, also for concurrent callers on two handles (two nodes) and
//     after a Delete; a malformed type is [modelstore.ErrInvalidArgument];
//   - Create then Get returns the record: type, every config field, the
//     values bit for bit (−0, infinities, NaN, none), version 1; values
//     are copied on Create, Update and Get;
//   - a second Create of an id is [modelstore.ErrExists]; malformed records
//     are refused and nothing is stored;
//   - unknown and malformed ids ("", "../x", globs, 300 bytes) are
//     [modelstore.ErrNotFound] for Get, Version, Update and Delete;
//   - Update bumps the version by one and keeps type and config;
//     concurrent updates through two handles get distinct versions, and
//     concurrent readers never see a torn vector (run with -race);
//   - Delete removes the model for every handle, and an Update never
//     brings it back;
//   - List is sorted by id, without values, with current versions;
//   - a durable store keeps models, versions and its id counters across
//     Close and reopening;
//   - a canceled context is context.Canceled and changes nothing; after
//     Close every call is [modelstore.ErrClosed] and Close is idempotent.
package storetest
