package dredge_test

import (
	"context"
	"testing"

	"github.com/dredge-cli/dredge"
)

func TestTenant(t *testing.T) {
	ctx := context.Background()
	if got := dredge.TenantOf(ctx); got != "" {
		t.Errorf("TenantOf(Background) = %q, want the default tenant", got)
	}
	ctx = dredge.WithTenant(ctx, "acme")
	if got := dredge.TenantOf(ctx); got != "acme" {
		t.Errorf("TenantOf = %q, want acme", got)
	}
	if got := dredge.TenantOf(dredge.WithTenant(ctx, "")); got != "" {
		t.Errorf("TenantOf after WithTenant(ctx, \"\") = %q", got)
	}
}

// TestTenantCache: cached results never cross tenants; each tenant's
// repeat of a call is a hit.
func TestTenantCache(t *testing.T) {
	e := newEngine(t)
	coords := dredge.Floats{0.25}
	p := &dredge.UnifiedParams{Insight: "shared question", Coords: &coords}
	call := func(tenant string) bool {
		t.Helper()
		r, err := e.UnifiedInference(dredge.WithTenant(context.Background(), tenant), p)
		if err != nil {
			t.Fatal(err)
		}
		return r.Cached
	}
	for _, c := range []struct {
		tenant string
		cached bool
	}{{"acme", false}, {"acme", true}, {"globex", false}, {"", false}, {"globex", true}, {"", true}, {"acme", true}} {
		if got := call(c.tenant); got != c.cached {
			t.Errorf("tenant %q: cached %v, want %v", c.tenant, got, c.cached)
		}
	}
}
