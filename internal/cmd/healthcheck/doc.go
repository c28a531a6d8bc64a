// Command healthcheck is the container image's health probe: it GETs the
// URLs at once and exits 0 when one answers 2xx within the timeout, 1
// otherwise (the reasons on stderr).
//
// Usage:
//
//	healthcheck [-timeout 3s] URL...
//	healthcheck http://127.0.0.1:3001/health http://127.0.0.1:3002/health http://127.0.0.1:9090/health
//
// The image's final stage is distroless, with no shell, curl or wget for
// a HEALTHCHECK to call, so the image carries this probe (a few MiB,
// static) rather than a debug base image with a shell. A container runs
// one of the image's three binaries, so the image's HEALTHCHECK names the
// three default health URLs (the service's /health on 3001, the MCP
// server's on 3002, the worker's on METRICS_PORT 9090) and the one that
// runs answers; a deployment on other ports names its own URL. URLs are
// arguments, never read from the environment, so that the image's
// configuration stays what the binaries read.
package main
