package httpapi_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/httpapi"
	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/internal/testengine"
	"github.com/dredge-cli/dredge/internal/testredis"
	"github.com/dredge-cli/dredge/modelstore"
)

// TestTenantTiming is issue 19's timing check: over HTTP, globex's
// not_found for acme's model and for ids that never existed take the same
// time, to within the noise of 1,000 requests each. The two kinds of
// request alternate, so that the machine's drift falls on both alike; the
// bound is four standard errors of the difference of the two medians
// (each standard error from its sample's interquartile range). It runs
// on the Engine's own registry and, with REDIS_URL, on a Redis model
// store, where every lookup is a round trip to Redis.
func TestTenantTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 2,400 timed requests per store")
	}
	t.Run("registry", func(t *testing.T) { testTenantTiming(t, nil) })
	t.Run("redis-store", func(t *testing.T) {
		url := os.Getenv("REDIS_URL")
		if url == "" {
			t.Skip(testredis.Skip)
		}
		prefix := fmt.Sprintf("dredge:test:timing:%d:", time.Now().UnixNano())
		t.Cleanup(func() { testredis.DeleteKeysAt(t, url, "{"+prefix+"}*") })
		s, err := modelstore.NewRedis(modelstore.RedisConfig{URL: url, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		testTenantTiming(t, dredge.WithModelStore(s))
	})
}

func testTenantTiming(t *testing.T, opt dredge.Option) {
	keys, err := httpapi.ParseKeys("acme " + keyAcme1 + "\nglobex " + keyGlobex + "\n")
	if err != nil {
		t.Fatal(err)
	}
	// Without the result cache: every request looks the model up.
	h, err := httpapi.New(testengine.New(t, opt, dredge.WithCacheConfig(cache.Config{})), httpapi.Config{AuthEnabled: true, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	client := ts.Client()
	post := func(key, op, body string) (int, string, time.Duration) {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+"/v1/ops/"+op, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(res.Body)
		took := time.Since(start)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(b), took
	}
	if code, b, _ := post(keyAcme1, "load_model", `{"model_type":"siren","config":{"hidden_size":4}}`); code != 200 || !strings.Contains(b, `"model_id":"siren_0"`) {
		t.Fatalf("acme's load_model: %d %s", code, b)
	}
	// acme's siren_0 against siren_1 … siren_9, which no tenant has: ids
	// of one length, so that the answers are of one length too.
	infer := func(id string) (int, string, time.Duration) {
		return post(keyGlobex, "inference", `{"model_id":"`+id+`","inputs":{"x":[0.5]}}`)
	}
	_, want, _ := infer("siren_9")
	const n, warm = 1000, 200
	var other, random []float64
	for i := range 2 * (n + warm) {
		id := "siren_0"
		if i%2 == 1 {
			id = fmt.Sprintf("siren_%d", 1+i/2%9)
		}
		code, b, took := infer(id)
		if code != http.StatusNotFound || b != strings.ReplaceAll(want, "siren_9", id) {
			t.Fatalf("globex's inference with %s: %d %s, want 404 %s", id, code, b, strings.ReplaceAll(want, "siren_9", id))
		}
		if i < 2*warm {
			continue
		}
		if i%2 == 0 {
			other = append(other, took.Seconds()*1e6)
		} else {
			random = append(random, took.Seconds()*1e6)
		}
	}
	mo, so := medianSE(other)
	mr, sr := medianSE(random)
	bound := 4 * math.Hypot(so, sr)
	t.Logf("median of %d not_found answers: acme's model %.1f µs (± %.1f), ids that never existed %.1f µs (± %.1f); difference %.1f µs, bound %.1f µs",
		n, mo, so, mr, sr, mo-mr, bound)
	if math.Abs(mo-mr) > bound {
		t.Errorf("not_found for acme's model (median %.1f µs) and for unknown ids (%.1f µs) differ by more than the noise (%.1f µs)", mo, mr, bound)
	}
}

// medianSE returns the median of xs and its standard error, estimated
// from the interquartile range (robust to the long tail of a shared
// machine's latencies): 1.2533 σ/√n with σ = IQR/1.349.
func medianSE(xs []float64) (median, se float64) {
	s := slices.Sorted(slices.Values(xs))
	q := func(p float64) float64 { return s[int(p*float64(len(s)-1))] }
	return q(0.5), 1.2533 * (q(0.75) - q(0.25)) / 1.349 / math.Sqrt(float64(len(s)))
}
