package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			w.Write([]byte(`{"status":"healthy"}`))
		case "/down":
			http.Error(w, `{"status":"unhealthy","error":"redis: connection refused"}`, http.StatusServiceUnavailable)
		case "/slow":
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	for _, tc := range []struct {
		path, want string // want: a part of the error, "" for none
	}{
		{"/health", ""},
		{"/down", "503 Service Unavailable: {\"status\":\"unhealthy\",\"error\":\"redis: connection refused\"}"},
		{"/nope", "404"},
		{"/slow", "deadline exceeded"},
	} {
		err := probe(context.Background(), srv.URL+tc.path, 200*time.Millisecond)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.path, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error containing %q", tc.path, err, tc.want)
		}
	}
	// Nothing listening: a refused connection is unhealthy.
	srv.Close()
	if err := probe(context.Background(), srv.URL+"/health", time.Second); err == nil {
		t.Error("closed server: no error")
	}

	// Any one healthy URL is enough; the others' failures do not count.
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer live.Close()
	if err := probeAny(context.Background(), []string{srv.URL + "/health", live.URL + "/health"}, time.Second); err != nil {
		t.Errorf("one of two healthy: %v", err)
	}
	err := probeAny(context.Background(), []string{srv.URL + "/health", srv.URL + "/ready"}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "/health") || !strings.Contains(err.Error(), "/ready") {
		t.Errorf("none healthy: got %v, want both failures", err)
	}
}
