// Package queuetest is the shared suite every [workers.Queue]
// implementation passes: the job lifecycle, first-in-first-out order,
// failing, retrying, releasing and canceling jobs, unknown ids, a Claim
// that waits,
// concurrent producers and consumers (every job claimed exactly once),
// tenants (neither sees nor cancels the other's jobs, idempotency keys per
// tenant, the limit of queued jobs per tenant), and Close. An
// implementation's test calls [Run] with a function that opens an empty
// queue with given [Options].
package queuetest
