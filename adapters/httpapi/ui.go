package httpapi

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// The web console: static files embedded in the binary, which use the
// public API from the browser (operations, their event streams, /metrics,
// /v1/datasets). The charts are uPlot's (ui/vendor, MIT licence).
//
//go:embed ui
var uiFiles embed.FS

// uiFS is the console's files, index.html at its root.
var uiFS, _ = fs.Sub(uiFiles, "ui")

// uiPolicy lets the console load its own scripts and styles only, and
// talk to this server only. uPlot sets inline styles.
const uiPolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"

var uiFileServer = http.StripPrefix("/ui", http.FileServerFS(uiFS))

// serveUIRedirect sends GET /ui to /ui/, so that the page's relative links
// resolve under /ui/.
func serveUIRedirect(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
}

// serveUI serves the console's files under /ui/.
func serveUI(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", uiPolicy)
	hdr["X-Content-Type-Options"] = noSniff
	hdr.Set("Referrer-Policy", "no-referrer")
	uiFileServer.ServeHTTP(w, r)
}

// isUIPath reports whether p is the console's: /ui or under /ui/.
func isUIPath(p string) bool {
	return p == "/ui" || strings.HasPrefix(p, "/ui/")
}
