package main

import (
	"context"
	"time"
)

// spin: the loop sleeps until this long before the next intended time, then
// polls without sleeping until it comes. Waking a sleeping thread takes
// tens of µs on a VM (measured: a 54 µs median dispatch lag at 1000/s without
// the spin), and a sleep and its wake-up cost ~30 µs of CPU (the CPU per
// request of one-connection ping-pong clients), so at more than ~20k
// requests/s the pacer keeps its core busy rather than fall behind.
const spin = 50 * time.Microsecond

type openResult struct {
	Start     time.Time
	Records   []record
	Wall      time.Duration // from start until every record was final
	Primed    int           // connections answered once before the clock started
	PrimeWall time.Duration
	Idle      *idleStats // with -idle
	Slow      *slowStats // with -slow
}

// runOpen sends every slot at its intended time on its own connection,
// whatever the server does (open loop), then waits until each request has an
// outcome or its deadline (intended + timeout) has passed. A request whose
// connection is still busy waits for it (its latency counts from the intended
// time). Cancelling ctx stops sending early.
func runOpen(ctx context.Context, cfg config) (*openResult, error) {
	slots := schedule(cfg)
	total := cfg.streamConns()
	e, err := newEngine(ctx, cfg, total+cfg.Idle+cfg.Slow)
	if err != nil {
		return nil, err
	}
	e.bg = background{idleFirst: total, idleN: cfg.Idle, slowFirst: total + cfg.Idle, slowN: cfg.Slow,
		interval: int64(cfg.SlowInterval)}
	defer e.p.close()
	defer func() {
		for ci := range e.conns {
			e.closeConn(ci)
		}
	}()
	first := 0
	for i := range cfg.Streams {
		for ci := first; ci < first+cfg.connectionsOf(i); ci++ {
			e.conns[ci].stream = int32(i)
		}
		first += cfg.connectionsOf(i)
	}
	for g, s := range slots {
		c := &e.conns[s.Conn]
		c.slots = append(c.slots, int32(g))
	}
	defer lockThread()()

	res := &openResult{}
	// Idle and slow connections first: a pool server gives its workers to those
	// that came first, as it would to clients already there.
	if cfg.Idle > 0 {
		u, host, _ := splitURL(cfg.URL)
		prime := cfg.Prime
		if prime == "" {
			prime = "/ping"
		}
		e.heads = append(e.heads, requestHead(u, host, prime))
		e.openIdle(int32(len(e.heads)-1), cfg.IdleWait)
		res.Idle = &e.bg.idle
	}
	if cfg.Slow > 0 {
		u, host, _ := splitURL(cfg.URL)
		e.bg.slowHead = []byte("GET " + u + "/ping HTTP/1.1\r\nHost: " + host + "\r\n")
		e.openSlow(cfg.PrimeWait)
		res.Slow = &e.bg.slow
	}
	res.Primed, res.PrimeWall = e.prime(cfg, total)
	e.bg.nextTick = e.bg.interval

	e.recs = make([]record, len(slots))
	for g, s := range slots {
		e.recs[g] = record{Stream: s.Stream, Conn: s.Conn, Intended: int64(s.At), Ready: -1, Sent: -1, Done: -1}
	}
	e.onFree = func(ci int, t int64, _ bool) { e.startNext(ci, t) }
	timeout := int64(cfg.Timeout)
	e.start = time.Now()
	due, oldest := 0, 0 // slots[:due] are due; recs[:oldest] are final
	for {
		t := e.now()
		for due < len(slots) && int64(slots[due].At) <= t {
			ci := int(slots[due].Conn)
			if e.conns[ci].rec < 0 {
				e.startNext(ci, t)
			}
			due++
		}
		for oldest < len(e.recs) && e.recs[oldest].Done >= 0 {
			oldest++
		}
		slow := e.bg.slowN > 0 && e.bg.nextTick < int64(cfg.Duration)
		if slow && e.bg.nextTick <= t {
			e.slowTick(t)
			e.bg.nextTick = max(e.bg.nextTick+e.bg.interval, t)
			continue
		}
		if oldest == len(e.recs) && due == len(slots) || e.interrupted() {
			break
		}
		if oldest < due && e.recs[oldest].Intended+timeout <= t {
			e.expire(oldest, t)
			continue
		}
		wake := t + int64(time.Second)
		if due < len(slots) {
			wake = int64(slots[due].At)
		}
		if oldest < len(e.recs) {
			wake = min(wake, e.recs[oldest].Intended+timeout)
		}
		if slow {
			wake = min(wake, e.bg.nextTick)
		}
		e.poll(max(t, wake-int64(spin))) // wake early, then poll until the time comes
	}
	end := e.now()
	e.finishBackground()
	if e.interrupted() {
		e.recs = e.recs[:due] // slots never due are not part of the run
	}
	for i := range e.recs {
		if r := &e.recs[i]; r.Done < 0 {
			r.Kind, r.Err, r.Done = timeoutErr, "no response before the run ended", end
		}
	}
	res.Start, res.Records, res.Wall = e.start, e.recs, time.Duration(end)
	return res, nil
}

// startNext begins the next due request of the free connection ci, if any.
// Due requests whose deadline already passed while they waited for the
// connection are timeouts without being sent.
func (e *engine) startNext(ci int, t int64) {
	c := &e.conns[ci]
	for c.next < len(c.slots) {
		g := int(c.slots[c.next])
		r := &e.recs[g]
		if r.Intended > t {
			return
		}
		c.next++
		if r.Intended+int64(e.cfg.Timeout) <= t {
			r.Kind, r.Err, r.Done = timeoutErr, "its connection was busy until the deadline", t
			continue
		}
		e.begin(ci, g, t)
		return
	}
}

// expire ends record g, whose deadline passed: in flight, its connection is
// closed (a late answer must not be taken for the next request's).
func (e *engine) expire(g int, t int64) {
	r := &e.recs[g]
	ci := int(r.Conn)
	if c := &e.conns[ci]; c.rec == g {
		e.fail(ci, timeoutErr, errTimeout, t)
		return
	}
	r.Kind, r.Err, r.Done = timeoutErr, "its connection was busy until the deadline", t
}

// prime opens the streams' connections (the first n) and has each answered
// once (its stream's path, or cfg.Prime), before the clock starts, so that dialling and the server's
// accept are not inside the measurement. A connection not answered within
// cfg.PrimeWait is closed; its first request dials again.
func (e *engine) prime(cfg config, n int) (primed int, wall time.Duration) {
	heads := e.heads
	defer func() { e.heads = heads }()
	if cfg.Prime != "" {
		u, host, _ := splitURL(cfg.URL)
		e.heads = make([][]byte, len(heads))
		for i := range e.heads {
			e.heads[i] = requestHead(u, host, cfg.Prime)
		}
	}
	e.recs = make([]record, n)
	e.start = time.Now()
	for ci := range n {
		e.recs[ci] = record{Sent: -1, Done: -1}
		e.begin(ci, ci, e.now())
	}
	deadline := int64(cfg.PrimeWait)
	for t := e.now(); t < deadline && !e.interrupted(); t = e.now() {
		waiting := false
		for ci := range n {
			waiting = waiting || e.conns[ci].rec >= 0
		}
		if !waiting {
			break
		}
		e.poll(deadline)
	}
	for ci := range n {
		c := &e.conns[ci]
		if c.rec >= 0 {
			e.closeConn(ci)
			c.rec = -1
		}
		c.freeAt = 0 // the clock starts now
		if e.recs[ci].Status != 0 {
			primed++
		}
	}
	return primed, time.Since(e.start)
}
