package dredge

import "context"

// tenantKey is the context key of the tenant.
type tenantKey struct{}

// WithTenant returns a copy of ctx that carries the tenant name. The HTTP
// adapter sets it from the API key of each authenticated request; later
// steps namespace models, jobs and cache entries by it. The empty name is
// the default tenant.
func WithTenant(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, tenantKey{}, name)
}

// TenantOf returns the tenant that ctx carries (see [WithTenant]), or ""
// (the default tenant) when it carries none.
func TenantOf(ctx context.Context) string {
	name, _ := ctx.Value(tenantKey{}).(string)
	return name
}
