package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"syscall"
	"time"
)

// The engine is one event loop on one locked OS thread: non-blocking sockets,
// epoll, and a timeout in nanoseconds (epoll_pwait2) for the next intended
// send time. No goroutine, timer or allocation per request: requests are
// pre-encoded, responses are read into one shared buffer and parsed in place
// (response.go), records are preallocated. Go's own sleep and netpoller round
// timeouts to whole milliseconds, which is why the pacer does not use them.

type connState uint8

const (
	closed     connState = iota // no socket: the next request dials
	connecting                  // waiting for a non-blocking connect
	idle                        // open, nothing in flight
	busy                        // a request written, its response not complete
)

type conn struct {
	fd      int
	gen     int32 // bumped at every close, so that stale epoll events are ignored
	state   connState
	stream  int32
	rec     int  // the record in flight (connecting or busy), -1 if none
	used    bool // a response was read on this socket: if the server closed it while idle, retry once
	bg      bgKind
	pos     int   // slow client: bytes of its head sent on this socket
	retried bool  // the request in flight was already retried
	freeAt  int64 // when the connection last became free (ns)
	// open loop: this connection's share of the schedule, and the next one to start
	slots []int32
	next  int
	// the response being read
	partial   []byte // a head split over reads (rare)
	inBody    bool
	got       bool // any byte of the current response arrived
	remaining int64
	status    int32
	closeNext bool
}

type engine struct {
	cfg      config
	sa       syscall.Sockaddr
	p        *poller
	start    time.Time
	conns    []conn
	heads    [][]byte // the pre-encoded request of each stream
	recs     []record
	rbuf     []byte
	done     <-chan struct{}
	onFree   func(ci int, t int64, answered bool) // what a connection does when its request ends
	onFinish func(r *record)                      // accounting of a finished record (closed loop)
	bg       background                           // idle and slow connections (open loop)
}

var (
	errShortWrite = errors.New("short write")
	errClosed     = errors.New("connection closed before the response was complete")
	errTimeout    = errors.New("no complete response within the timeout")
)

func newEngine(ctx context.Context, cfg config, nconns int) (*engine, error) {
	u, host, err := splitURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	addr, err := net.ResolveTCPAddr("tcp", host)
	if err != nil {
		return nil, err
	}
	var sa syscall.Sockaddr
	if ip4 := addr.IP.To4(); ip4 != nil {
		s := &syscall.SockaddrInet4{Port: addr.Port}
		copy(s.Addr[:], ip4)
		sa = s
	} else {
		s := &syscall.SockaddrInet6{Port: addr.Port}
		copy(s.Addr[:], addr.IP.To16())
		sa = s
	}
	p, err := newPoller(max(64, min(nconns, 1024)))
	if err != nil {
		return nil, err
	}
	e := &engine{cfg: cfg, sa: sa, p: p, conns: make([]conn, nconns), rbuf: make([]byte, 64<<10), done: ctx.Done()}
	for i := range e.conns {
		e.conns[i] = conn{fd: -1, rec: -1}
	}
	paths := []string{cfg.Path}
	if cfg.Mode == "open" {
		paths = paths[:0]
		for _, s := range cfg.Streams {
			paths = append(paths, s.Path)
		}
	}
	for i, path := range paths {
		head := requestHead(u, host, path)
		if cfg.Mode == "open" {
			head = padded(head, cfg.Pad[cfg.Streams[i].Name])
		}
		e.heads = append(e.heads, head)
	}
	return e, nil
}

// padded adds an X-Pad header to a request head so that it is size bytes long
// (a request larger than one read of the server; 0: as it is).
func padded(head []byte, size int) []byte {
	fill := size - len(head) - len("X-Pad: \r\n")
	if size == 0 || fill < 0 {
		return head
	}
	out := append([]byte{}, head[:len(head)-2]...)
	out = append(out, "X-Pad: "...)
	out = append(out, bytes.Repeat([]byte("a"), fill)...)
	return append(out, "\r\n\r\n"...)
}

func requestHead(base, host, path string) []byte {
	return []byte("GET " + base + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: lab-pacer\r\n\r\n")
}

func (e *engine) now() int64 { return int64(time.Since(e.start)) }

func (e *engine) interrupted() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// begin starts record r on the free connection ci: dial if needed, then write.
func (e *engine) begin(ci, r int, t int64) {
	c := &e.conns[ci]
	c.rec, c.retried = r, false
	if c.state == closed {
		e.connect(ci, t)
	} else {
		e.write(ci, t)
	}
}

func (e *engine) connect(ci int, t int64) {
	c := &e.conns[ci]
	fd, established, err := dial(e.sa)
	if err != nil {
		e.fail(ci, connectErr, err, t)
		return
	}
	c.fd, c.used = fd, false
	if !established {
		c.state = connecting
		e.watch(ci, syscall.EPOLLOUT)
		return
	}
	e.watch(ci, syscall.EPOLLIN)
	c.state, c.freeAt = idle, t
	e.write(ci, t)
}

func (e *engine) watch(ci int, events uint32) {
	c := &e.conns[ci]
	if err := e.p.add(c.fd, ci, c.gen, events); err != nil {
		panic("epoll_ctl: " + err.Error()) // only a bug makes this fail
	}
}

func (e *engine) write(ci int, t int64) {
	c := &e.conns[ci]
	r := &e.recs[c.rec]
	head := e.heads[c.stream]
	n, err := send(c.fd, head)
	sent := e.now()
	if err == nil && n != len(head) {
		err = errShortWrite // one small request on a free connection: the kernel takes it whole
	}
	if err != nil {
		if c.used && !c.retried && (err == syscall.EPIPE || err == syscall.ECONNRESET) {
			e.retry(ci, sent) // the server closed this idle keep-alive connection
			return
		}
		e.fail(ci, writeErr, err, sent)
		return
	}
	r.Ready, r.Sent = max(r.Intended, c.freeAt), sent
	c.state, c.inBody, c.got, c.partial = busy, false, false, c.partial[:0]
}

// retry sends the request in flight again on a new connection, once: what
// browsers and net/http do when a keep-alive connection turns out closed.
func (e *engine) retry(ci int, t int64) {
	c := &e.conns[ci]
	e.closeConn(ci)
	c.retried = true
	e.connect(ci, t)
}

func (e *engine) closeConn(ci int) {
	c := &e.conns[ci]
	if c.fd >= 0 {
		syscall.Close(c.fd) // also removes it from the epoll set
	}
	c.fd, c.state = -1, closed
	c.gen++
}

// fail ends the request in flight with an error and closes its connection.
func (e *engine) fail(ci int, k kind, err error, t int64) {
	c := &e.conns[ci]
	r := &e.recs[c.rec]
	r.Status, r.Kind, r.Err, r.Done = 0, k, err.Error(), t
	e.closeConn(ci)
	c.rec, c.freeAt = -1, t
	if e.onFinish != nil {
		e.onFinish(r)
	}
	if e.onFree != nil {
		e.onFree(ci, t, false)
	}
}

func (e *engine) complete(ci int, t int64) {
	c := &e.conns[ci]
	r := &e.recs[c.rec]
	r.Status, r.Done = c.status, t
	if c.closeNext {
		e.closeConn(ci)
	} else {
		c.state, c.used = idle, true
	}
	c.rec, c.freeAt = -1, t
	if e.onFinish != nil {
		e.onFinish(r)
	}
	if e.onFree != nil {
		e.onFree(ci, t, true)
	}
}

// handle reacts to readiness of connection ci.
func (e *engine) handle(ev syscall.EpollEvent) {
	ci := int(ev.Fd)
	c := &e.conns[ci]
	if ev.Pad != c.gen || c.fd < 0 {
		return // an event of a socket closed earlier in this batch
	}
	t := e.now()
	if c.bg != streamConn {
		e.handleBackground(ci, ev, t)
		return
	}
	if c.state == connecting {
		if err := connectResult(c.fd); err != nil {
			e.fail(ci, connectErr, err, t)
		} else if ev.Events&syscall.EPOLLOUT != 0 {
			if err := e.p.modify(c.fd, ci, c.gen, syscall.EPOLLIN); err != nil {
				panic("epoll_ctl: " + err.Error())
			}
			c.state, c.freeAt = idle, t
			e.write(ci, t)
		}
		return
	}
	e.read(ci, t)
}

func (e *engine) read(ci int, t int64) {
	c := &e.conns[ci]
	n, err := recv(c.fd, e.rbuf)
	if err == syscall.EAGAIN {
		return
	}
	if c.state != busy {
		// The server closed an idle connection (or sent bytes nobody asked
		// for): the next request on it dials again.
		e.closeConn(ci)
		return
	}
	if err != nil || n <= 0 {
		if !c.got && c.used && !c.retried {
			e.retry(ci, t) // closed while idle, before any byte of the answer
			return
		}
		if err == nil {
			err = errClosed
		}
		e.fail(ci, readErr, err, t)
		return
	}
	c.got = true
	data := e.rbuf[:n]
	if !c.inBody {
		if len(c.partial) > 0 {
			c.partial = append(c.partial, data...)
			data = c.partial
		}
		end := headEnd(data)
		if end < 0 {
			if len(data) >= maxHead {
				e.fail(ci, readErr, errHeadTooLarge, t)
			} else if len(c.partial) == 0 {
				c.partial = append(c.partial, data...)
			}
			return
		}
		h, err := parseHead(data[:end])
		if err != nil {
			e.fail(ci, readErr, err, t)
			return
		}
		c.inBody, c.status, c.closeNext, c.remaining = true, int32(h.status), h.close, h.length
		n = len(data) - end
	}
	c.remaining -= int64(n)
	if c.remaining > 0 {
		return
	}
	if c.remaining < 0 {
		c.closeNext = true // bytes beyond the response: this socket cannot be trusted with the next one
	}
	e.complete(ci, t)
}

// loop waits for events until wake (ns since start, capped so that an
// interrupt is noticed) and handles them.
func (e *engine) poll(wake int64) {
	d := time.Duration(wake - e.now())
	for _, ev := range e.p.wait(min(d, 50*time.Millisecond)) {
		e.handle(ev)
	}
}

// lockThread puts the loop on its own OS thread with a fine timer slack.
func lockThread() (unlock func()) {
	runtime.LockOSThread()
	preciseTimers()
	return runtime.UnlockOSThread
}
