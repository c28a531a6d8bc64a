// Package testengine makes the CPU Engine that the tests of every package
// use, closed when the test ends.
package testengine
