//go:build race

package vecmath

// raceEnabled: the race detector is on (sync.Pool then drops at random).
const raceEnabled = true
