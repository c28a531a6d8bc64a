// Command healthcheck is the container image's health probe: it GETs one
// URL and exits 0 when the answer is 2xx within the timeout, 1 otherwise
// (the reason on stderr).
//
// Usage:
//
//	healthcheck [-timeout 3s] http://127.0.0.1:3001/health
//
// The image's final stage is distroless, with no shell, curl or wget for
// a HEALTHCHECK to call, so the image carries this probe (a few MiB,
// static) rather than a debug base image with a shell. One probe serves
// the three binaries, which differ only in the URL: the service's /health,
// the MCP server's /health, the worker's /health on METRICS_PORT. It
// takes its URL as an argument, never from the environment, so that the
// image's configuration stays what the binaries read.
package main
