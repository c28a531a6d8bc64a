// Package testredis runs a redis-server process owned by a test, for fault
// tests that stop and restart the server.
package testredis
