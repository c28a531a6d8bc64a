// Package envvar parses the values of the environment variables that
// configure DREDGE, so that every package reads them the same way. Each
// caller wraps the errors in its own error type naming the variable.
package envvar
