package main

// Background connections of the open loop, opened before the clock starts and
// held beside the streams:
//
//   - idle (-idle N): each is answered once (the -prime path, default /ping),
//     then stays silent. They cost the pacer nothing while the streams run:
//     level-triggered epoll reports only sockets that have something to say,
//     so a silent one is never looked at. Those the server closes are seen
//     (end of stream) and counted; at the end the summary says how many are
//     still open.
//   - slow (-slow M, slowloris): each sends a request head one byte every
//     -slow-interval and never finishes it. A connection the server closes
//     (after a 408, say) is dialled again at the next tick, as an attacker
//     would.

import (
	"bytes"
	"strconv"
	"syscall"
	"time"
)

type bgKind uint8

const (
	streamConn bgKind = iota // a stream's: the engine's request path
	heldIdle                 // an idle connection after its set-up
	slowClient               // a slowloris client
)

// idleWindow bounds the idle connections being set up at once (dialling or
// waiting for their first answer), so that opening 10,000 does not overflow
// the server's accept queue (SYNs dropped there come back only after 1 s).
const idleWindow = 512

// slowPrefix is the start of every slow request head; after it, slowLine
// repeats forever, so the blank line that would end the head never comes.
const slowLine = "X-Slow: 1\r\n"

type idleStats struct {
	Requested      int   `json:"requested"`
	Opened         int   `json:"opened"`           // connected when the set-up ended
	Primed         int   `json:"primed"`           // of them, answered with a 2xx
	ClosedByServer int   `json:"closed_by_server"` // after the set-up, before the end
	OpenAtEnd      int   `json:"open_at_end"`
	SetupNs        int64 `json:"setup_ns"`
}

type slowStats struct {
	Connections    int            `json:"connections"`
	IntervalNs     int64          `json:"interval_ns"`
	Connected      int            `json:"connected"` // when the clock started
	Connects       int            `json:"connects"`  // successful connects, reconnections included
	ConnectErrors  int            `json:"connect_errors"`
	BytesSent      int            `json:"bytes_sent"`
	ClosedByServer int            `json:"closed_by_server"`
	Responses      map[string]int `json:"responses"` // status code of what the server answered -> count
	OpenAtEnd      int            `json:"open_at_end"`
}

type background struct {
	idleFirst, idleN int
	slowFirst, slowN int
	slowHead         []byte // the prefix; slowLine repeats after it
	interval         int64
	nextTick         int64
	idle             idleStats
	slow             slowStats
}

func (e *engine) slowByte(p int) byte {
	if head := e.bg.slowHead; p < len(head) {
		return head[p]
	} else {
		return slowLine[(p-len(head))%len(slowLine)]
	}
}

// openIdle sets up the idle connections: dial, one request (the prime head),
// its answer, at most idleWindow at a time, for at most wait. Connections not
// answered by then stay open, unanswered (a pool server may be holding them
// in its queue).
func (e *engine) openIdle(head int32, wait time.Duration) {
	b := &e.bg
	b.idle.Requested = b.idleN
	e.recs = make([]record, b.idleN)
	for i := range e.recs {
		e.recs[i] = record{Sent: -1, Done: -1}
	}
	next, inFlight := 0, 0
	start := func(t int64) {
		ci := b.idleFirst + next
		e.conns[ci].stream = head
		inFlight++
		next++
		e.begin(ci, next-1, t)
	}
	e.onFree = func(_ int, t int64, _ bool) {
		inFlight--
		if next < b.idleN {
			start(t)
		}
	}
	e.start = time.Now()
	for next < min(b.idleN, idleWindow) {
		start(e.now())
	}
	deadline := int64(wait)
	for t := e.now(); t < deadline && (inFlight > 0 || next < b.idleN) && !e.interrupted(); t = e.now() {
		e.poll(deadline)
	}
	e.onFree = nil
	b.idle.SetupNs = e.now()
	for i := 0; i < b.idleN; i++ {
		c := &e.conns[b.idleFirst+i]
		c.bg, c.rec = heldIdle, -1
		if c.fd >= 0 && c.state != connecting {
			b.idle.Opened++
		}
		if s := e.recs[i].Status; s >= 200 && s < 300 {
			b.idle.Primed++
		}
	}
}

// openSlow dials every slow client and sends each its first byte, waiting at
// most wait for the connections to be established.
func (e *engine) openSlow(wait time.Duration) {
	b := &e.bg
	b.slow.Connections = b.slowN
	b.slow.IntervalNs = b.interval
	b.slow.Responses = map[string]int{}
	e.start = time.Now()
	for ci := b.slowFirst; ci < b.slowFirst+b.slowN; ci++ {
		e.conns[ci].bg = slowClient
		e.slowDial(ci, e.now())
	}
	deadline := int64(wait)
	for t := e.now(); t < deadline && e.slowIn(connecting) > 0 && !e.interrupted(); t = e.now() {
		e.poll(deadline)
	}
	b.slow.Connected = e.slowIn(idle)
}

// slowIn counts the slow clients in a state (idle: connected).
func (e *engine) slowIn(state connState) int {
	n := 0
	for ci := e.bg.slowFirst; ci < e.bg.slowFirst+e.bg.slowN; ci++ {
		if e.conns[ci].state == state {
			n++
		}
	}
	return n
}

func (e *engine) slowDial(ci int, t int64) {
	c := &e.conns[ci]
	fd, established, err := dial(e.sa)
	if err != nil {
		e.bg.slow.ConnectErrors++
		return
	}
	c.fd, c.pos, c.got = fd, 0, false
	if !established {
		c.state = connecting
		e.watch(ci, syscall.EPOLLOUT)
		return
	}
	e.watch(ci, syscall.EPOLLIN)
	e.slowConnected(ci, t)
}

func (e *engine) slowConnected(ci int, t int64) {
	e.conns[ci].state = idle
	e.bg.slow.Connects++
	e.slowSend(ci, t)
}

// slowSend writes the next byte of the slow head.
func (e *engine) slowSend(ci int, t int64) {
	c := &e.conns[ci]
	b := [1]byte{e.slowByte(c.pos)}
	switch _, err := send(c.fd, b[:]); err {
	case nil:
		c.pos++
		e.bg.slow.BytesSent++
	case syscall.EAGAIN: // the server does not read: try again at the next tick
	default:
		e.serverClosed(ci, t)
	}
}

// slowTick sends one byte on every open slow client and dials again those the
// server closed.
func (e *engine) slowTick(t int64) {
	for ci := e.bg.slowFirst; ci < e.bg.slowFirst+e.bg.slowN; ci++ {
		switch e.conns[ci].state {
		case idle:
			e.slowSend(ci, t)
		case closed:
			e.slowDial(ci, t)
		}
	}
}

// handleBackground reacts to readiness of an idle or slow connection: the
// end of an attempt to connect, an answer (a late one to an idle connection's
// request, an error response to a slow client), or the server closing it.
func (e *engine) handleBackground(ci int, ev syscall.EpollEvent, t int64) {
	c := &e.conns[ci]
	if c.state == connecting {
		if err := connectResult(c.fd); err != nil {
			e.closeConn(ci)
			if c.bg == slowClient {
				e.bg.slow.ConnectErrors++
			}
			return
		}
		if ev.Events&syscall.EPOLLOUT == 0 {
			return
		}
		if err := e.p.modify(c.fd, ci, c.gen, syscall.EPOLLIN); err != nil {
			panic("epoll_ctl: " + err.Error())
		}
		if c.bg == slowClient {
			e.slowConnected(ci, t)
		} else {
			c.state = idle // connected after the set-up ended: open, never answered
		}
		return
	}
	n, err := recv(c.fd, e.rbuf)
	switch {
	case err == syscall.EAGAIN:
	case err != nil || n == 0:
		e.serverClosed(ci, t)
	case c.bg == slowClient && !c.got:
		c.got = true
		e.bg.slow.Responses[statusOf(e.rbuf[:n])]++
	}
}

// statusOf is the status code of a response's first bytes, or "unparsed".
func statusOf(b []byte) string {
	if len(b) >= 12 && bytes.HasPrefix(b, []byte("HTTP/1.")) && b[8] == ' ' {
		if code, err := strconv.Atoi(string(b[9:12])); err == nil {
			return strconv.Itoa(code)
		}
	}
	return "unparsed"
}

func (e *engine) serverClosed(ci int, t int64) {
	c := &e.conns[ci]
	if c.bg == slowClient {
		e.bg.slow.ClosedByServer++
	} else if c.state != connecting {
		e.bg.idle.ClosedByServer++
	}
	e.closeConn(ci)
}

// finishBackground handles what is pending (a close that just arrived), then
// counts the background connections still open.
func (e *engine) finishBackground() {
	for {
		evs := e.p.wait(0)
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			e.handle(ev)
		}
	}
	b := &e.bg
	for ci := b.idleFirst; ci < b.idleFirst+b.idleN; ci++ {
		if c := &e.conns[ci]; c.fd >= 0 && c.state != connecting {
			b.idle.OpenAtEnd++
		}
	}
	b.slow.OpenAtEnd = e.slowIn(idle)
}

// nofile is this process's descriptor limit (Go raises the soft limit to the
// hard one at start-up).
func nofile() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}
