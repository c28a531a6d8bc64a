package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// net/http writes an answer through a 4 KiB buffer per connection, so an
// answer with headers over 4 KiB (a unified_inference result is about
// 4.1 KiB) leaves in two write system calls or more; on loopback or a
// fast network each costs about as much as the rest of serving the request.
// Connections accepted by [Run] are wrapped in a coalescingConn, and
// writeResult, which has the whole answer in hand, has the connection hold
// what net/http writes while it writes and flushes the answer, then sends
// it in one call. Every other write (streams, the MCP transport, small
// answers) goes straight through.

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

// coalescingConn is a net.Conn that can hold back writes (see hold) and
// sets its deadlines lazily.
//
// net/http sets a connection's deadlines six to nine times per request
// (header and idle timeouts, its background read, the body read timeout),
// each a timer update in the runtime's poller, although a deadline only
// matters to a read or write that has to wait. A coalescingConn records
// the deadlines it is given and passes one on to the connection before
// the next read or write, when it differs from the one the connection has;
// a deadline set while a read or write is in progress is passed on at once,
// since it may be there to interrupt it.
type coalescingConn struct {
	net.Conn

	mu   sync.Mutex
	held *[]byte // non-nil while holding

	dl     sync.Mutex // guards rd and wr
	rd, wr lazyDeadline
}

// lazyDeadline is the deadline state of one direction of a coalescingConn.
type lazyDeadline struct {
	want, set time.Time // wanted, and set on the connection
	calls     int       // calls in progress on the connection
}

func (c *coalescingConn) Read(p []byte) (int, error) {
	if err := c.begin(&c.rd, c.Conn.SetReadDeadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	c.end(&c.rd)
	return n, err
}

// write writes p to the connection; c.mu is held.
func (c *coalescingConn) write(p []byte) (int, error) {
	if err := c.begin(&c.wr, c.Conn.SetWriteDeadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	c.end(&c.wr)
	return n, err
}

// begin passes the wanted deadline on before a read or write, and counts
// the call in progress.
func (c *coalescingConn) begin(d *lazyDeadline, apply func(time.Time) error) error {
	c.dl.Lock()
	defer c.dl.Unlock()
	if !d.want.Equal(d.set) {
		if err := apply(d.want); err != nil {
			return err
		}
		d.set = d.want
	}
	d.calls++
	return nil
}

func (c *coalescingConn) end(d *lazyDeadline) {
	c.dl.Lock()
	d.calls--
	c.dl.Unlock()
}

// setDeadline records t as the wanted deadline, and passes it on at once
// when a call is in progress; c.dl is held.
func (d *lazyDeadline) setDeadline(t time.Time, apply func(time.Time) error) error {
	d.want = t
	if d.calls == 0 || t.Equal(d.set) {
		return nil
	}
	d.set = t
	return apply(t)
}

func (c *coalescingConn) SetReadDeadline(t time.Time) error {
	c.dl.Lock()
	defer c.dl.Unlock()
	return c.rd.setDeadline(t, c.Conn.SetReadDeadline)
}

func (c *coalescingConn) SetWriteDeadline(t time.Time) error {
	c.dl.Lock()
	defer c.dl.Unlock()
	return c.wr.setDeadline(t, c.Conn.SetWriteDeadline)
}

func (c *coalescingConn) SetDeadline(t time.Time) error {
	c.dl.Lock()
	defer c.dl.Unlock()
	return errors.Join(c.rd.setDeadline(t, c.Conn.SetReadDeadline), c.wr.setDeadline(t, c.Conn.SetWriteDeadline))
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
	return c.write(p)
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
		_, err = c.write(*b)
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
