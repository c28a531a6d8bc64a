package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// minSize is the size of the answer with an empty padding.
const minSize = len(`{"success":true,"padding":""}`)

func main() {
	addr := flag.String("addr", "127.0.0.1:3912", "listen address")
	size := flag.Int("size", 4100, "answer size in bytes (unified.lua's answers are about 4100)")
	flag.Parse()
	if *size < minSize {
		fmt.Fprintf(os.Stderr, "bare: -size must be at least %d\n", minSize)
		os.Exit(2)
	}
	if err := http.ListenAndServe(*addr, newHandler(*size)); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

// newHandler answers every POST with a JSON object of size bytes (at least
// minSize), after reading the request body.
func newHandler(size int) http.Handler {
	body := []byte(`{"success":true,"padding":"` + strings.Repeat("0", size-minSize) + `"}`)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write(body)
	})
	return mux
}
