// Command bare is the reference point of the load test: a net/http server
// that does no work. It reads each POST body and answers a fixed JSON body
// as large as the service's unified_inference answers to unified.lua
// (about 4.1 KB), with the same headers, so that a load run against it
// measures what this machine's kernel, net/http and the load generator cost
// on their own. compare.sh runs it beside the service; it is not part of
// the library.
//
//	go run ./examples/http-service/loadtest/bare -addr 127.0.0.1:3912
package main
