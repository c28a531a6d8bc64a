package dredge

import (
	"context"
	"fmt"
	"strings"
	"sync"

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

// tenantUse counts what tenants hold against their [TenantLimits].
type tenantUse struct {
	limits TenantLimits

	// loading serialises the loads of models counted against a model
	// store (the count is a List of the store).
	loading sync.Mutex

	mu        sync.Mutex
	trainings map[string]int // running, by tenant
}

// tenantLimit is the error of a tenant's limit reached.
func tenantLimit(n int, what, env, hint string) error {
	return &Error{Code: CodeResourceExhausted,
		Message: fmt.Sprintf("tenant limit reached: %s=%d %s; %s", env, n, what, hint),
		Err:     ErrResourceExhausted}
}

// modelsLimit is the error of a tenant that holds as many models (n) as
// it may.
func modelsLimit(n int) error {
	return tenantLimit(n, "loaded models", "TENANT_MAX_MODELS", "unload a model first")
}

// startTraining counts a training of tenant, or fails past the limit; the
// caller calls done when the training ends.
func (u *tenantUse) startTraining(tenant string) (done func(), err error) {
	if u.limits.Trainings == 0 {
		return func() {}, nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.trainings[tenant] >= u.limits.Trainings {
		return nil, tenantLimit(u.limits.Trainings, "trainings at once", "TENANT_MAX_TRAININGS", "wait for one to finish")
	}
	if u.trainings == nil {
		u.trainings = make(map[string]int)
	}
	u.trainings[tenant]++
	return func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		if u.trainings[tenant]--; u.trainings[tenant] == 0 {
			delete(u.trainings, tenant)
		}
	}, nil
}

// checkStoredModels fails when the call's tenant holds as many stored models
// as it may; the caller holds u.loading until its new model is stored.
func (e *Engine) checkStoredModels(ctx context.Context) error {
	l, err := e.modelStore.List(ctx, TenantOf(ctx))
	if err != nil {
		return storeUnavailable("", err)
	}
	if len(l) >= e.tenants.limits.Models {
		return modelsLimit(e.tenants.limits.Models)
	}
	return nil
}
