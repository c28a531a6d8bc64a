package mcp

import (
	"net/http"
	"strconv"

	"github.com/dredge-cli/dredge"
)

// NewIndexHandler returns a handler that answers GET and HEAD with eng's
// list_capabilities JSON (name, version, protocol, capabilities and
// features with device_info), as the Python original's MCP server answered
// GET /. Mount it at "GET /{$}" beside [NewHTTPHandler]'s /mcp. Other
// methods get 405 with Allow; a closed Engine gets 503 with the error JSON.
// The handler is safe for concurrent use.
func NewIndexHandler(eng *dredge.Engine) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed (allowed: GET, HEAD)", http.StatusMethodNotAllowed)
			return
		}
		body, code := eng.CallJSON(r.Context(), "list_capabilities", nil)
		status := http.StatusOK
		switch code {
		case dredge.CodeOK:
		case dredge.CodeUnavailable:
			status = http.StatusServiceUnavailable
		default:
			status = http.StatusInternalServerError
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}
