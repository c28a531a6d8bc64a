package dredge

import (
	"context"
	"strings"

	"github.com/dredge-cli/dredge/modelstore"
)

// tenantKey is the context key of the tenant.
type tenantKey struct{}

// WithTenant returns a copy of ctx that carries the tenant name. The HTTP
// adapter sets it from the API key of each authenticated request. The
// Engine keeps each tenant's models and cached results apart: a tenant's
// model ids ("<type>_<n>", counted per tenant) name its own models only,
// list_models lists its own, and a call never answers with a result
// computed for another tenant. Another tenant's id answers exactly as an
// id that never existed (not_found). The empty name is the default
// tenant; another name must be 1 to 64 of A-Z, a-z, 0-9, '.', '_' and
// '-', starting with a letter or digit (a call with any other fails with
// invalid_argument).
func WithTenant(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, tenantKey{}, name)
}

// TenantOf returns the tenant that ctx carries (see [WithTenant]), or ""
// (the default tenant) when it carries none.
func TenantOf(ctx context.Context) string {
	name, _ := ctx.Value(tenantKey{}).(string)
	return name
}

// modelKey returns the key (in the registry and the model store) of the
// model id of ctx's tenant. An id with a '/' is no tenant's own: it is
// not_found, as any unknown id.
func modelKey(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", invalid("model_id", "is required")
	}
	if strings.IndexByte(id, '/') >= 0 {
		return "", modelNotFound(id)
	}
	return modelstore.TenantID(TenantOf(ctx), id), nil
}
