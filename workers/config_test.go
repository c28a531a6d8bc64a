package workers

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	c, err := configFromEnv(env(nil))
	if err != nil || c.Backend != "memory" || c.Workers != runtime.GOMAXPROCS(0) || c.Concurrency != 1 ||
		c.Redis.ClaimAfter != 30*time.Second || c.Redis.MaxDeliveries != 3 || c.Redis.ResultTTL != 24*time.Hour ||
		c.Memory.ResultTTL != 24*time.Hour || c.Memory.MaxPending != 0 || c.Memory.MaxTenantJobs != 0 || c.Redis.MaxTenantJobs != 0 ||
		c.Redis.Retry != (RetryPolicy{Max: 3, Backoff: time.Second}) || c.Memory.Retry != c.Redis.Retry {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	c, err = configFromEnv(env(map[string]string{"QUEUE_BACKEND": "redis", "NUM_WORKERS": "0", "WORKER_CONCURRENCY": "4",
		"QUEUE_CLAIM_AFTER": "1m", "QUEUE_MAX_DELIVERIES": "5", "RESULT_TTL": "3600", "QUEUE_MAX_PENDING": "10", "QUEUE_PREFIX": "q1",
		"QUEUE_MAX_RETRIES": "0", "QUEUE_RETRY_BACKOFF": "250ms", "QUEUE_TENANT_MAX_JOBS": "100"}))
	if err != nil || c.Backend != "redis" || c.Workers != 0 || c.Concurrency != 4 || c.Redis.ClaimAfter != time.Minute ||
		c.Redis.MaxDeliveries != 5 || c.Redis.ResultTTL != time.Hour || c.Redis.MaxPending != 10 || c.Memory.MaxPending != 10 || c.Redis.Prefix != "q1" ||
		c.Redis.Retry != (RetryPolicy{Max: -1, Backoff: 250 * time.Millisecond}) || c.Memory.Retry != c.Redis.Retry ||
		c.Redis.MaxTenantJobs != 100 || c.Memory.MaxTenantJobs != 100 {
		t.Errorf("set: %+v, %v", c, err)
	}
	for name, bad := range map[string]string{"QUEUE_BACKEND": "kafka", "NUM_WORKERS": "-1", "WORKER_CONCURRENCY": "0",
		"QUEUE_CLAIM_AFTER": "soon", "QUEUE_MAX_DELIVERIES": "0", "RESULT_TTL": "-1", "QUEUE_MAX_PENDING": "lots",
		"QUEUE_MAX_RETRIES": "-2", "QUEUE_RETRY_BACKOFF": "later", "QUEUE_TENANT_MAX_JOBS": "-1"} {
		if _, err := configFromEnv(env(map[string]string{name: bad})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want an error naming it", name, bad, err)
		}
	}
	if _, err := configFromEnv(env(map[string]string{"QUEUE_CLAIM_AFTER": "1s"})); err == nil || !strings.Contains(err.Error(), "QUEUE_CLAIM_AFTER") {
		t.Errorf("QUEUE_CLAIM_AFTER=1s (below two heartbeats): %v", err)
	}
}
