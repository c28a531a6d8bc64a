package httpapi

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// Write coalescing: an operation's answer leaves in one write system call.
//
// It pays because of one net/http behaviour: a server connection writes
// through a bufio.Writer of 4 KiB (conn.bufw, newBufioWriterSize(…, 4<<10)
// in net/http/server.go), so an answer whose headers and body pass 4 KiB (a
// unified_inference answer is about 4.1 KiB) reaches the connection in two
// writes or more, each a system call. In the load test one write instead
// of two saved about 9 µs of the server's 55 µs of CPU per request and gave
// 1.22 times the requests per second (median of 8 alternated rounds; see
// examples/http-service/loadtest/README.md).
//
// It relies on these net/http behaviours, and on nothing else:
//   - [http.Server.Serve] uses the net.Conn that the listener's Accept
//     returns for all of a connection's reads and writes, and hands that
//     same value to [http.Server.ConnContext] (connContext finds it there);
//   - Serve recognises TLS by the type *tls.Conn, so TLS connections are
//     not wrapped (they are not coalesced);
//   - the ResponseWriter is an [http.Flusher] whose Flush pushes everything
//     written so far through net/http's buffers to the connection;
//   - before closing a connection after an answer net/http half-closes it
//     through a CloseWrite method that it finds by type assertion, so the
//     wrapper forwards CloseWrite (and, like Close, first sends anything
//     still held).
//
// writeResult, which has a whole answer in hand, has the connection hold
// what net/http writes while it writes and flushes the answer, then sends
// it in one call. Every other write (streams, the MCP transport, small
// answers) goes straight through; reads are never held.

// maxHeldAnswer bounds the bytes a connection holds back; an answer that
// outgrows it is written as net/http writes it.
const maxHeldAnswer = 64 << 10

// coalescingListener wraps the connections it accepts in coalescingConns,
// except TLS connections, whose type net/http needs to see.
type coalescingListener struct{ net.Listener }

func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if _, isTLS := c.(*tls.Conn); isTLS {
		return c, nil
	}
	return &coalescingConn{Conn: c}, nil
}

// coalescingConn is a net.Conn that can hold back writes (see hold).
type coalescingConn struct {
	net.Conn

	mu   sync.Mutex
	held *[]byte // non-nil while holding
}

var heldPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// hold makes the connection keep writes until flush, Close or CloseWrite.
// Reads go on meanwhile: net/http reads ahead in the background while a
// handler runs.
func (c *coalescingConn) hold() {
	c.mu.Lock()
	if c.held == nil {
		c.held = heldPool.Get().(*[]byte)
	}
	c.mu.Unlock()
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held != nil && len(*c.held)+len(p) <= maxHeldAnswer {
		*c.held = append(*c.held, p...)
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// flushLocked writes what is held and stops holding.
func (c *coalescingConn) flushLocked() error {
	if c.held == nil {
		return nil
	}
	b := c.held
	c.held = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	if cap(*b) <= maxHeldAnswer {
		*b = (*b)[:0]
		heldPool.Put(b)
	}
	return err
}

func (c *coalescingConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked()
}

func (c *coalescingConn) Close() error {
	_ = c.flush() // the connection is going: a failed write changes nothing
	return c.Conn.Close()
}

// CloseWrite is called by net/http before it closes a connection after an
// answer (Connection: close).
func (c *coalescingConn) CloseWrite() error {
	if err := c.flush(); err != nil {
		return err
	}
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// connContextKey is the context key of a request's coalescingConn.
type connContextKey struct{}

// connContext is the http.Server.ConnContext set by [NewServer].
func connContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*coalescingConn); ok {
		return context.WithValue(ctx, connContextKey{}, cc)
	}
	return ctx
}

// requestConn returns the connection of r when Run accepted it, else nil.
func requestConn(r *http.Request) *coalescingConn {
	cc, _ := r.Context().Value(connContextKey{}).(*coalescingConn)
	return cc
}

// coalesceAbove is the body size from which an answer with its headers
// may not fit net/http's 4 KiB connection buffer.
const coalesceAbove = 3584

// writeResult writes a JSON answer like writeJSON, in one write to the
// connection when [Run] accepted it.
func writeResult(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	if len(body) < coalesceAbove || len(body) > maxHeldAnswer-4096 {
		writeJSON(w, status, body)
		return
	}
	cc := requestConn(r)
	f, canFlush := w.(http.Flusher)
	if cc == nil || !canFlush {
		writeJSON(w, status, body)
		return
	}
	cc.hold()
	writeJSON(w, status, body)
	f.Flush()      // the rest of the answer, from net/http's buffers to cc's
	_ = cc.flush() // a failed write breaks the connection: net/http sees it next
}
