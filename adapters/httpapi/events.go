package httpapi

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"github.com/dredge-cli/dredge"
)

// Server-Sent Events: an operation POSTed with "Accept: text/event-stream"
// answers 200 with a stream of progress events while it runs (a
// long-running operation reports them, see dredge.WithProgress: benchmark's
// epochs and losses) and then one result event with its whole answer,
// success or error, as the plain call returns it:
//
//	event: progress
//	data: {"done":12,"total":300,"message":"training …: 12/300, loss 0.0123","loss":0.0123}
//
//	event: result
//	data: {"success":true,…}
//
// A client that goes away cancels the operation, as with the plain call.

// progressBacklog is the number of progress events that wait for a slow
// client; more are dropped (the next one tells where the run is).
const progressBacklog = 64

// wantsEvents reports whether r asks for an event stream.
func wantsEvents(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			if t, _, err := mime.ParseMediaType(part); err == nil && t == "text/event-stream" {
				return true
			}
		}
	}
	return false
}

// stream runs op with params and answers with its events.
func (h *handler) stream(w http.ResponseWriter, r *http.Request, op string, params []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr["X-Content-Type-Options"] = noSniff
	hdr.Set("X-Accel-Buffering", "no") // proxies: pass each event on at once
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()

	// The operation reports on its own goroutine and must not wait for
	// the client: reports queue here, and the handler's goroutine, the
	// only one writing, sends them.
	progress := make(chan dredge.Progress, progressBacklog)
	ctx := dredge.WithProgress(r.Context(), func(p dredge.Progress) {
		select {
		case progress <- p:
		default:
		}
	})
	done := make(chan []byte, 1)
	go func() {
		body, _ := h.eng.CallJSON(ctx, op, params)
		done <- body
	}()
	var buf bytes.Buffer
	for {
		select {
		case p := <-progress:
			data, _ := json.Marshal(p)
			writeEvent(&buf, "progress", data)
		case body := <-done:
			// Reports made before the answer go first.
			for len(progress) > 0 {
				data, _ := json.Marshal(<-progress)
				writeEvent(&buf, "progress", data)
			}
			writeEvent(&buf, "result", body)
			_, _ = w.Write(buf.Bytes())
			_ = rc.Flush()
			return
		}
		// A client that has gone away fails the write; the operation
		// sees its context cancelled and ends, which ends this loop.
		_, _ = w.Write(buf.Bytes())
		_ = rc.Flush()
		buf.Reset()
	}
}

// writeEvent appends an event named name with data, one data line per line
// of it, to buf.
func writeEvent(buf *bytes.Buffer, name string, data []byte) {
	buf.WriteString("event: ")
	buf.WriteString(name)
	buf.WriteByte('\n')
	for line := range bytes.Lines(data) {
		buf.WriteString("data: ")
		buf.Write(bytes.TrimRight(line, "\r\n"))
		buf.WriteByte('\n')
	}
	buf.WriteByte('\n')
}
