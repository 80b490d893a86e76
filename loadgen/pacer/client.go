package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
)

// The pacer speaks HTTP/1.1 itself on a small pool of net.Conn rather than
// through net/http's Transport: the goroutine that owns a request writes it
// and reads the answer, so the send time is taken right after write(2)
// returns and no hand-off to the Transport's reader and writer goroutines
// sits between the intended time and the wire. Responses are still parsed by
// net/http (http.ReadResponse), so framing (Content-Length, chunked,
// Connection: close) is handled by the standard library.

// pool lends at most n keep-alive connections, one request at a time each.
type pool struct {
	addr   string
	dialer net.Dialer
	idle   chan *conn    // connections free for the next request
	tokens chan struct{} // one token per open connection: the bound
	mu     sync.Mutex
	open   map[*conn]struct{} // every open connection, to close them all at the end
	closed bool
}

type conn struct {
	net.Conn
	br *bufio.Reader
}

func newPool(addr string, n int) *pool {
	return &pool{addr: addr, dialer: net.Dialer{KeepAlive: 30 * time.Second},
		idle: make(chan *conn, n), tokens: make(chan struct{}, n), open: map[*conn]struct{}{}}
}

// get returns an idle connection if there is one, else dials a new one if the
// bound allows, else waits for one to be given back.
func (p *pool) get(ctx context.Context) (c *conn, reused bool, err error) {
	select {
	case c := <-p.idle:
		return c, true, nil
	default:
	}
	select {
	case c := <-p.idle:
		return c, true, nil
	case p.tokens <- struct{}{}:
		nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
		if err != nil {
			<-p.tokens
			return nil, false, err
		}
		c := &conn{nc, bufio.NewReader(nc)}
		p.mu.Lock()
		if p.closed {
			nc.Close()
		}
		p.open[c] = struct{}{}
		p.mu.Unlock()
		return c, false, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

func (p *pool) put(c *conn) { p.idle <- c } // never blocks: at most n connections exist

func (p *pool) discard(c *conn) {
	c.Close()
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
	<-p.tokens
}

// closeAll closes every connection, which ends any exchange still waiting.
func (p *pool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for c := range p.open {
		c.Close()
	}
}

// exchange sends one GET and reads the whole response before deadline. It
// returns the status, when the request was written (zero if never), and on
// failure an error kind: connect, write, read or timeout.
func (p *pool) exchange(ctx context.Context, head []byte, deadline time.Time) (status int, sent time.Time, kind string, err error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	for attempt := 0; ; attempt++ {
		sent = time.Time{}
		c, reused, err := p.get(ctx)
		if err != nil {
			return 0, sent, failure("connect", err), err
		}
		c.SetDeadline(deadline)
		if _, err = c.Write(head); err != nil {
			p.discard(c)
			if reused && attempt == 0 {
				continue // the server closed this idle connection: retry once on a fresh one
			}
			return 0, sent, failure("write", err), err
		}
		sent = time.Now()
		if _, err = c.br.Peek(1); err != nil && reused && attempt == 0 &&
			(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			p.discard(c)
			continue // closed before answering anything: the same stale-connection case
		}
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			p.discard(c)
			return 0, sent, failure("read", err), err
		}
		_, err = io.Copy(io.Discard, resp.Body) // read it all so the connection can be reused
		resp.Body.Close()
		switch {
		case err != nil:
			p.discard(c)
			return 0, sent, failure("read", err), err
		case resp.Close: // Connection: close, or HTTP/1.0 without keep-alive
			p.discard(c)
		default:
			p.put(c)
		}
		return resp.StatusCode, sent, "", nil
	}
}

// failure names the error kind: a missed deadline is a timeout whatever the step.
func failure(kind string, err error) string {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return kind
}
