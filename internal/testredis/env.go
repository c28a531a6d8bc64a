package testredis

import (
	"context"
	"os"
	"testing"

	"github.com/redis/rueidis"
)

// Skip is the message of a test skipped because REDIS_URL is unset.
const Skip = "REDIS_URL not set: start redis-server (redis-server --port 6399 --save \"\" --daemonize yes) and set REDIS_URL=redis://127.0.0.1:6399/0 to run"

// Client connects to the server REDIS_URL names, closed when the test
// ends, and returns it with the URL; it skips the test when REDIS_URL is
// unset.
func Client(t testing.TB) (rueidis.Client, string) {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip(Skip)
	}
	return ClientAt(t, url), url
}

// ClientAt connects to the server at url, closed when the test ends.
func ClientAt(t testing.TB, url string) rueidis.Client {
	t.Helper()
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	t.Cleanup(c.Close)
	return c
}

// DeleteKeys deletes the keys that match pattern (KEYS, for tests).
func DeleteKeys(t testing.TB, c rueidis.Client, pattern string) {
	t.Helper()
	ctx := context.Background()
	keys, err := c.Do(ctx, c.B().Keys().Pattern(pattern).Build()).AsStrSlice()
	if err != nil {
		t.Errorf("KEYS %s: %v", pattern, err)
		return
	}
	for _, k := range keys {
		if err := c.Do(ctx, c.B().Unlink().Key(k).Build()).Error(); err != nil {
			t.Error(err)
		}
	}
}

// DeleteKeysAt is DeleteKeys on a connection of its own to url.
func DeleteKeysAt(t testing.TB, url, pattern string) {
	t.Helper()
	DeleteKeys(t, ClientAt(t, url), pattern)
}
