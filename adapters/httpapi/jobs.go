package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/workers"
)

// serveJobSubmit enqueues a job: 202 {"job_id", "status": "pending"} with
// a Location header. With an Idempotency-Key header, a key the queue
// still remembers answers 200 with its job's state (Idempotent-Replayed:
// true) and enqueues nothing. The operation is checked here; its params when the
// job runs (a job with bad params ends failed with the operation's error).
func (h *handler) serveJobSubmit(w http.ResponseWriter, r *http.Request) {
	buf, ok := h.readBody(w, r)
	if !ok {
		return
	}
	defer putBuffer(buf)
	var req dredge.Request
	if !isObject(buf.Bytes()) || json.Unmarshal(buf.Bytes(), &req) != nil {
		writeError(w, http.StatusBadRequest, &dredge.Error{Code: dredge.CodeInvalidArgument, Field: "body",
			Message: `body: want a JSON object {"operation": …, "params": …}`})
		return
	}
	if _, ok := dredge.LookupOperation(req.Operation); !ok {
		// The Engine's own answer for a missing or unknown operation: it
		// fails at the lookup, before anything runs.
		a := h.eng.Answer(r.Context(), req.Operation, nil)
		writeJSON(w, StatusOf(a.Code), a.Body)
		return
	}
	var id string
	var err error
	created := true
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		if !workers.ValidKey(key) {
			writeError(w, http.StatusBadRequest, &dredge.Error{Code: dredge.CodeInvalidArgument, Field: "Idempotency-Key",
				Message: "Idempotency-Key: want 1 to 255 printable characters without spaces"})
			return
		}
		id, created, err = h.cfg.Jobs.EnqueueOnce(r.Context(), key, req.Operation, req.Params)
	} else {
		id, err = h.cfg.Jobs.Enqueue(r.Context(), req.Operation, req.Params)
	}
	if err != nil {
		h.writeQueueError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+id)
	if !created {
		// The key's job, as it is now: 200, not a new job.
		w.Header().Set("Idempotent-Replayed", "true")
		st, err := h.cfg.Jobs.Status(r.Context(), id)
		if err != nil {
			h.writeQueueError(w, r, err)
			return
		}
		writeState(w, st)
		return
	}
	body, _ := json.Marshal(struct {
		ID     string         `json:"job_id"`
		Status workers.Status `json:"status"`
	}{id, workers.Pending})
	writeJSON(w, http.StatusAccepted, body)
}

// serveJobStatus answers GET /v1/jobs/{id} with the job's workers.State.
func (h *handler) serveJobStatus(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	st, err := h.cfg.Jobs.Status(r.Context(), id)
	if err != nil {
		h.writeQueueError(w, r, err)
		return
	}
	writeState(w, st)
}

// serveJobCancel cancels a pending or running job (DELETE /v1/jobs/{id})
// and answers its state; a finished job is 409.
func (h *handler) serveJobCancel(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	err := h.cfg.Jobs.Cancel(r.Context(), id)
	if errors.Is(err, workers.ErrNotClaimed) {
		msg := "job_id: the job is already finished"
		if st, serr := h.cfg.Jobs.Status(r.Context(), id); serr == nil {
			msg = "job_id: the job is already " + string(st.Status)
		}
		writeError(w, http.StatusConflict, &dredge.Error{Code: dredge.CodeInvalidArgument, Field: "job_id", Message: msg})
		return
	}
	var st workers.State
	if err == nil {
		st, err = h.cfg.Jobs.Status(r.Context(), id)
	}
	if err != nil {
		h.writeQueueError(w, r, err)
		return
	}
	writeState(w, st)
}

// tenantLimitError is the answer to a tenant's job past its limit: the
// limit and its setting named, the tenant's own (no other tenant's count
// or name).
func tenantLimitError(e *workers.TenantLimitError) *dredge.Error {
	return &dredge.Error{Code: dredge.CodeResourceExhausted, Err: e,
		Message: e.Error()}
}

// serveJobsOff answers the job routes when Config.Jobs is nil.
func serveJobsOff(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, &dredge.Error{Code: dredge.CodeNotFound, Field: "path",
		Message: "jobs are not configured on this server (Config.Jobs)"})
}

// jobID returns the request's job id (see workers.ValidID). On failure it
// has answered 400 and returns false.
func jobID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	ok := workers.ValidID(id)
	if !ok {
		writeError(w, http.StatusBadRequest, &dredge.Error{Code: dredge.CodeInvalidArgument, Field: "job_id",
			Message: "job_id: want 32 lowercase hexadecimal digits, got " + truncate(id, 64)})
	}
	return id, ok
}

func writeState(w http.ResponseWriter, st workers.State) {
	body, err := json.Marshal(st)
	if err != nil { // a result that is not JSON: a queue's bug
		writeError(w, http.StatusInternalServerError, &dredge.Error{Code: dredge.CodeInternal, Message: "internal error"})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// writeQueueError answers a queue's failure: an unknown job (or another
// tenant's: the same answer) 404, a tenant with as many queued jobs as it
// may 429 naming the limit, a full or closed or unreachable queue 503 with
// Retry-After, anything else 500 (logged).
func (h *handler) writeQueueError(w http.ResponseWriter, r *http.Request, err error) {
	var limit *workers.TenantLimitError
	switch {
	case errors.As(err, &limit):
		writeError(w, http.StatusTooManyRequests, tenantLimitError(limit))
	case errors.Is(err, workers.ErrNotFound):
		writeError(w, http.StatusNotFound, &dredge.Error{Code: dredge.CodeNotFound, Field: "job_id",
			Message: "job_id: no such job (unknown, or its result has expired)"})
	case errors.Is(err, workers.ErrFull), errors.Is(err, workers.ErrClosed), errors.Is(err, workers.ErrUnavailable):
		w.Header()["Retry-After"] = retryAfter
		msg := "the job queue is full; retry later"
		switch {
		case errors.Is(err, workers.ErrClosed):
			msg = "the job queue is closed"
		case errors.Is(err, workers.ErrUnavailable):
			msg = "the job queue cannot be reached; retry later"
			if h.log != nil {
				h.log.LogAttrs(r.Context(), slog.LevelWarn, "job queue unavailable", slog.String("error", err.Error()))
			}
		}
		writeError(w, http.StatusServiceUnavailable, &dredge.Error{Code: dredge.CodeUnavailable, Message: msg})
	case r.Context().Err() != nil:
		// The client went away: nobody reads the answer.
		writeError(w, http.StatusServiceUnavailable, &dredge.Error{Code: dredge.CodeUnavailable, Message: "request canceled"})
	default:
		if h.log != nil {
			h.log.LogAttrs(r.Context(), slog.LevelError, "job queue failed", slog.String("error", err.Error()))
		}
		writeError(w, http.StatusInternalServerError, &dredge.Error{Code: dredge.CodeInternal, Message: "internal error"})
	}
}
