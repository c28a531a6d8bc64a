// Package envvar reads the environment variables that configure DREDGE, so
// that every package (the root's FromEnv, cache, monitor, adapters/httpapi)
// reads them the same way and only lists its variables.
//
// A [Reader] looks variables up through an injectable [Lookup] (tests pass a
// map's), trims them, treats blank ones as unset, and parses strings,
// choices, booleans, bounded integers, byte sizes and durations. A bad value
// yields the default and records an [*Error] naming the variable, which the
// Reader's Wrap turns into the caller's own error type; [Reader.Err] returns
// the first error, [Reader.Errs] all of them.
package envvar
