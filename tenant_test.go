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
