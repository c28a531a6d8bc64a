package mcp

import (
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/testengine"
	"github.com/dredge-cli/dredge/workers"
)

// tenantSession connects a client to a server of job tools on q whose
// connection carries tenant (as NewHTTPHandler's sessions carry their
// key's).
func tenantSession(t *testing.T, eng *dredge.Engine, q workers.Queue, tenant string) *sdk.ClientSession {
	t.Helper()
	ctx := dredge.WithTenant(testContext(t), tenant)
	ct, st := sdk.NewInMemoryTransports()
	ss, err := NewServer(eng, &Options{Jobs: q}).Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(testContext(t), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.Close()
		_ = ss.Wait()
	})
	return cs
}

// TestJobToolsTenants: over MCP a job belongs to the tenant on the tool
// call's context. get_job and cancel_job of another tenant's job answer
// exactly what they answer for an id that never existed; past the limit
// of queued jobs submit_job answers resource_exhausted naming it.
func TestJobToolsTenants(t *testing.T) {
	eng := testengine.New(t)
	q := workers.NewMemory(workers.MemoryConfig{MaxTenantJobs: 1})
	t.Cleanup(func() { _ = q.Close() })
	acme, globex := tenantSession(t, eng, q, "acme"), tenantSession(t, eng, q, "globex")
	id := submitJob(t, acme, "lift", `{"insight_text":"x"}`)
	const unknown = "0123456789abcdef0123456789abcdef"
	for _, tool := range []string{GetJobTool, CancelJobTool} {
		got, gotErr := callJSON(t, globex, tool, map[string]any{"job_id": id}, nil)
		want, wantErr := callJSON(t, globex, tool, map[string]any{"job_id": unknown}, nil)
		if !gotErr || !wantErr || got["code"] != "not_found" || !jsonEqual(got, want) {
			t.Errorf("%s of acme's job by globex: %v; of an unknown id: %v", tool, got, want)
		}
	}
	if st, isErr := callJSON(t, acme, GetJobTool, map[string]any{"job_id": id}, nil); isErr || st["status"] != "pending" {
		t.Errorf("acme's own job after globex's calls: %v", st)
	}
	out, isErr := callJSON(t, acme, SubmitJobTool, map[string]any{"operation": "lift", "params": map[string]any{"insight_text": "y"}}, nil)
	if msg, _ := out["error"].(string); !isErr || out["code"] != "resource_exhausted" || !strings.Contains(msg, "QUEUE_TENANT_MAX_JOBS=1 queued jobs") {
		t.Errorf("acme's second job: %v, want resource_exhausted naming the limit", out)
	}
	submitJob(t, globex, "lift", `{"insight_text":"y"}`)
}
