package monitor

import (
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// Tenants become label values, and a label value that comes from request
// data would let any client mint series without bound. So a tenant is a
// label value only when it is in the set given to [Monitor.SetTenants] (the
// HTTP adapter gives the tenants its keys file names); the default tenant
// "" and any tenant not in the set are counted in the series without the
// label, as before tenants existed.

// tenantSet is one immutable generation of the tenants that may be label
// values.
type tenantSet map[string]struct{}

// SetTenants replaces the tenants whose operations, cache hits and jobs
// are counted apart, under a tenant label: a later call with a name not in
// names counts it in the series without the label. Empty names are
// ignored. names should be a small set fixed by configuration (the
// tenants of a keys file), never taken from requests. Series already
// counted for a tenant that leaves the set stay, so that counters never go
// down; a tenant that returns goes on from them. It is safe to call at
// any time, concurrently with recording.
func (m *Monitor) SetTenants(names []string) {
	if m == nil || !m.metricsOn {
		return
	}
	set := make(tenantSet, len(names))
	for _, n := range names {
		if n != "" {
			set[n] = struct{}{}
		}
	}
	m.tenants.Store(&set)
}

// Tenants returns the tenants of [Monitor.SetTenants], sorted: none when
// the Monitor records no metrics, where SetTenants does nothing.
func (m *Monitor) Tenants() []string {
	if m == nil {
		return nil
	}
	p := m.tenants.Load()
	if p == nil {
		return nil
	}
	names := make([]string, 0, len(*p))
	for n := range *p {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// labelled reports whether tenant is counted under its own label.
func (m *Monitor) labelled(tenant string) bool {
	if tenant == "" {
		return false
	}
	p := m.tenants.Load()
	if p == nil {
		return false
	}
	_, ok := (*p)[tenant]
	return ok
}

// outcomeCounts counts the calls of one operation by outcome, for the
// series without a tenant label or for one tenant's.
type outcomeCounts struct {
	base     []attribute.KeyValue // operation, and tenant when labelled
	success  *series
	outcomes sync.Map // outcome string → *series
}

func newOutcomeCounts(base ...attribute.KeyValue) *outcomeCounts {
	return &outcomeCounts{
		base:    base,
		success: newSeries(append(slices.Clip(base), attribute.String(LabelOutcome, OutcomeSuccess))...),
	}
}

// add counts one call under outcome ("" means OutcomeSuccess).
func (c *outcomeCounts) add(outcome string) {
	if outcome == OutcomeSuccess || outcome == "" {
		c.success.n.Add(1)
		return
	}
	load(&c.outcomes, outcome, func() *series {
		return newSeries(append(slices.Clip(c.base), attribute.String(LabelOutcome, outcome))...)
	}).n.Add(1)
}

// forTenant returns the Operation counting o's calls of tenant, or nil
// when tenant is not labelled.
func (o *Operation) forTenant(tenant string) *Operation {
	if !o.m.labelled(tenant) {
		return nil
	}
	return load(&o.tenants, tenant, func() *Operation {
		return &Operation{
			m:        o.m,
			name:     o.name,
			spanOpts: o.spanOpts,
			hist:     o.hist,
			counts:   newOutcomeCounts(attribute.String(LabelOperation, o.name), attribute.String(LabelTenant, tenant)),
			hits:     o.m.tenantHits(tenant),
		}
	})
}

func (m *Monitor) tenantHits(tenant string) *series {
	return load(&m.tenantCacheHits, tenant, func() *series { return newSeries(attribute.String(LabelTenant, tenant)) })
}

// JobFinishedFor is [Monitor.JobFinished] for a job of tenant: it is
// counted under the tenant's label when tenant is in the set of
// [Monitor.SetTenants], and without one otherwise.
func (m *Monitor) JobFinishedFor(tenant, outcome string, ran time.Duration) {
	if m == nil || !m.metricsOn {
		return
	}
	jobs := &m.jobs
	if m.labelled(tenant) {
		jobs = load(&m.tenantJobs, tenant, func() *sync.Map { return new(sync.Map) })
	}
	load(jobs, outcome, func() *series {
		if jobs == &m.jobs {
			return newSeries(attribute.String(LabelOutcome, outcome))
		}
		return newSeries(attribute.String(LabelOutcome, outcome), attribute.String(LabelTenant, tenant))
	}).n.Add(1)
	m.timer(TimerJobRun).observe(ran)
}
