package monitor_test

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/dredge-cli/dredge/monitor"
)

// collector is an OTLP/HTTP trace receiver keeping what it was sent.
type collector struct {
	t     *testing.T
	mu    sync.Mutex
	paths []string
	reqs  []*coltracepb.ExportTraceServiceRequest
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		c.t.Errorf("Content-Type = %q, want application/x-protobuf", ct)
	}
	req := new(coltracepb.ExportTraceServiceRequest)
	if err := proto.Unmarshal(raw, req); err != nil {
		c.t.Errorf("decode ExportTraceServiceRequest: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.paths = append(c.paths, r.URL.Path)
	c.reqs = append(c.reqs, req)
	c.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

type gotSpan struct {
	span     *tracepb.Span
	resource map[string]string
}

func (c *collector) spans() []gotSpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []gotSpan
	for _, req := range c.reqs {
		for _, rs := range req.GetResourceSpans() {
			res := attrMap(rs.GetResource().GetAttributes())
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					out = append(out, gotSpan{span: s, resource: res})
				}
			}
		}
	}
	return out
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch v.GetValue().(type) {
		case *commonpb.AnyValue_BoolValue:
			if v.GetBoolValue() {
				m[kv.GetKey()] = "true"
			} else {
				m[kv.GetKey()] = "false"
			}
		default:
			m[kv.GetKey()] = v.GetStringValue()
		}
	}
	return m
}

func TestTracesReachOTLPEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(url string) monitor.Config
		wantPath string
	}{
		{"base endpoint", func(u string) monitor.Config { return monitor.Config{OTLPEndpoint: u} }, "/v1/traces"},
		{"base endpoint with path", func(u string) monitor.Config { return monitor.Config{OTLPEndpoint: u + "/otlp/"} }, "/otlp/v1/traces"},
		{"traces endpoint", func(u string) monitor.Config {
			return monitor.Config{OTLPEndpoint: u + "/ignored", OTLPTracesEndpoint: u + "/custom/traces"}
		}, "/custom/traces"},
		{"metrics disabled", func(u string) monitor.Config {
			return monitor.Config{OTLPEndpoint: u, DisableMetrics: true}
		}, "/v1/traces"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			col := &collector{t: t}
			srv := httptest.NewServer(col)
			defer srv.Close()

			cfg := tc.cfg(srv.URL)
			cfg.ServiceName = "dredge-test"
			cfg.ServiceVersion = "9.9.9"
			m, err := monitor.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !m.TracingExported() {
				t.Fatal("TracingExported() = false with an endpoint set")
			}
			ctx, s := m.StartOperation(context.Background(), "unified_inference")
			if !s.Recording() {
				t.Fatal("span not recording")
			}
			s.SetModelType("string_theory")
			s.SetCached(true)
			s.SetDevice("cpu")
			// A child operation shares the trace.
			_, child := m.StartOperation(ctx, "string_spectrum")
			child.End("invalid_params")
			s.End(monitor.OutcomeSuccess)

			if err := m.Shutdown(context.Background()); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}

			col.mu.Lock()
			paths := append([]string(nil), col.paths...)
			col.mu.Unlock()
			for _, p := range paths {
				if p != tc.wantPath {
					t.Errorf("POST path = %q, want %q", p, tc.wantPath)
				}
			}
			spans := col.spans()
			if len(spans) != 2 {
				t.Fatalf("received %d spans, want 2", len(spans))
			}
			byName := map[string]gotSpan{}
			for _, s := range spans {
				byName[s.span.GetName()] = s
			}
			parent, ok := byName["unified_inference"]
			if !ok {
				t.Fatalf("no unified_inference span in %v", spans)
			}
			wantAttrs := map[string]string{
				"dredge.operation":  "unified_inference",
				"dredge.model_type": "string_theory",
				"dredge.cached":     "true",
				"dredge.device":     "cpu",
				"dredge.outcome":    "success",
			}
			got := attrMap(parent.span.GetAttributes())
			for k, v := range wantAttrs {
				if got[k] != v {
					t.Errorf("span attribute %s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			if parent.resource["service.name"] != "dredge-test" || parent.resource["service.version"] != "9.9.9" {
				t.Errorf("resource = %v", parent.resource)
			}
			if code := parent.span.GetStatus().GetCode(); code == tracepb.Status_STATUS_CODE_ERROR {
				t.Errorf("successful span has status %v", code)
			}
			child2, ok := byName["string_spectrum"]
			if !ok {
				t.Fatalf("no string_spectrum span")
			}
			if st := child2.span.GetStatus(); st.GetCode() != tracepb.Status_STATUS_CODE_ERROR || st.GetMessage() != "invalid_params" {
				t.Errorf("failed span status = %v", st)
			}
			if string(child2.span.GetTraceId()) != string(parent.span.GetTraceId()) ||
				string(child2.span.GetParentSpanId()) != string(parent.span.GetSpanId()) {
				t.Error("child span is not a child of the operation span")
			}
		})
	}
}
