package dredge

import "context"

// tenantKey is the context key of the tenant.
type tenantKey struct{}

// WithTenant returns a copy of ctx that carries the tenant name. The HTTP
// adapter sets it from the API key of each authenticated request. The
// Engine's result cache keeps each tenant's results apart: a call never
// answers with a result computed for another tenant. (Models and jobs are
// not yet namespaced by tenant.) The empty name is the default tenant.
func WithTenant(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, tenantKey{}, name)
}

// TenantOf returns the tenant that ctx carries (see [WithTenant]), or ""
// (the default tenant) when it carries none.
func TenantOf(ctx context.Context) string {
	name, _ := ctx.Value(tenantKey{}).(string)
	return name
}
