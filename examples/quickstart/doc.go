// Command quickstart computes a string spectrum, loads a Quasimoto
// ensemble, runs inference on it and prints the results.
package main
