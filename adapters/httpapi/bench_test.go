package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/dredge-cli/dredge"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks measure the handler rather than a recorder.
type discardWriter struct {
	hdr    http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.hdr }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// benchRequest serves POST target with bodies from body(i).
func benchRequest(b *testing.B, h http.Handler, target string, body func(i int) []byte) {
	b.Helper()
	b.ReportAllocs()
	w := &discardWriter{hdr: http.Header{}}
	rd := bytes.NewReader(nil)
	r := httptest.NewRequest(http.MethodPost, target, nil)
	i := 0
	for b.Loop() {
		i++
		p := body(i)
		rd.Reset(p)
		r.Body = io.NopCloser(rd)
		r.ContentLength = int64(len(p))
		clear(w.hdr)
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func distinctUnified(i int) []byte {
	return []byte(`{"operation":"unified_inference","params":{"dredge_insight":"insight ` + strconv.Itoa(i) +
		`","quasimoto_coords":[0.5],"string_modes":[1,2,3]}}`)
}

// BenchmarkLegacyUnified is the load test's request, POST /mcp with a
// distinct unified_inference insight each time, without the network.
func BenchmarkLegacyUnified(b *testing.B) {
	benchRequest(b, newTestHandler(b, Config{}), "/mcp", distinctUnified)
}

// BenchmarkLegacyUnifiedNoCache is BenchmarkLegacyUnified without the
// result cache: what the Engine costs without the cache's Sets.
func BenchmarkLegacyUnifiedNoCache(b *testing.B) {
	benchRequest(b, newTestHandler(b, Config{}, dredge.WithCache(nil)), "/mcp", distinctUnified)
}

// BenchmarkLegacyUnifiedGuarded adds authentication and rate limiting.
func BenchmarkLegacyUnifiedGuarded(b *testing.B) {
	h := newTestHandler(b, Config{AuthEnabled: true, APIKeys: []string{"k1"}, RateLimitEnabled: true, RateLimitRequests: 1 << 30})
	b.ReportAllocs()
	w := &discardWriter{hdr: http.Header{}}
	i := 0
	for b.Loop() {
		i++
		r := httptest.NewRequest(http.MethodPost, "/mcp", bytes.NewReader(distinctUnified(i)))
		r.Header.Set("X-API-Key", "k1")
		clear(w.hdr)
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkOpSpectrumCached is POST /v1/ops/string_spectrum answered from
// the cache: mostly the adapter's own cost.
func BenchmarkOpSpectrumCached(b *testing.B) {
	p := []byte(`{"max_modes":5}`)
	benchRequest(b, newTestHandler(b, Config{}), "/v1/ops/string_spectrum", func(int) []byte { return p })
}
