package main

import (
	"context"
	"time"
)

// sweep is how often the closed loop looks for requests past their deadline
// and re-opens connections whose request failed.
const sweep = 10 * time.Millisecond

type closedResult struct {
	Start      time.Time
	Wall       time.Duration
	Records    []record // finished requests, if cfg.Records
	Counts     counts
	InFlight   int     // requests still waiting for an answer when the window closed (not outcomes)
	OKPerMilli []int32 // 2xx responses completed in each millisecond of the window
	Conns      []connStats
}

type connStats struct {
	Responses int   // responses of any status
	First     int64 // when the first one arrived (ns); -1: never
}

type counts struct {
	Requests int         `json:"requests"` // outcomes: responses of any status plus errors
	OK       int         `json:"ok"`       // 2xx responses
	Non2xx   int         `json:"non_2xx"`
	Errors   errorCounts `json:"errors"`
}

func (c *counts) add(r *record) {
	c.Requests++
	switch {
	case r.Status >= 200 && r.Status < 300:
		c.OK++
	case r.Status != 0:
		c.Non2xx++
	default:
		c.Errors.add(r.Kind)
	}
}

// runClosed keeps cfg.Connections connections busy for cfg.Duration: each
// sends its next request as soon as the previous answer has arrived. All
// connections are dialled at the start, so the time until every one has had
// its first answer (set-up) is part of what is measured. After a failed
// request a connection waits for the next sweep (at most 10 ms) before it
// dials again, so that a refused port is not hammered in a busy loop.
func runClosed(ctx context.Context, cfg config) (*closedResult, error) {
	e, err := newEngine(ctx, cfg, cfg.Connections)
	if err != nil {
		return nil, err
	}
	defer e.p.close()
	defer func() {
		for ci := range e.conns {
			e.closeConn(ci)
		}
	}()
	res := &closedResult{OKPerMilli: make([]int32, cfg.Duration/time.Millisecond+1),
		Conns: make([]connStats, cfg.Connections)}
	for i := range res.Conns {
		res.Conns[i].First = -1
	}
	window := int64(cfg.Duration)
	if !cfg.Records {
		e.recs = make([]record, len(e.conns)) // one reusable record per connection
	}
	next := func(ci int, t int64) int { // a new record for connection ci
		r := ci
		if cfg.Records {
			e.recs = append(e.recs, record{})
			r = len(e.recs) - 1
		}
		e.recs[r] = record{Conn: int32(ci), Intended: t, Ready: t, Sent: -1, Done: -1}
		return r
	}
	e.onFinish = func(r *record) {
		if r.Done >= window {
			return // after the window closed: not part of the measurement
		}
		res.Counts.add(r)
		if cs := &res.Conns[r.Conn]; r.Status != 0 {
			cs.Responses++
			if cs.First < 0 {
				cs.First = r.Done
			}
		}
		if r.Status >= 200 && r.Status < 300 {
			res.OKPerMilli[r.Done/int64(time.Millisecond)]++
		}
	}
	e.onFree = func(ci int, t int64, answered bool) {
		if answered && t < window {
			e.begin(ci, next(ci, t), t)
		}
	}
	defer lockThread()()
	e.start = time.Now()
	for ci := range e.conns {
		e.begin(ci, next(ci, 0), e.now())
	}
	nextSweep := int64(sweep)
	for t := e.now(); t < window && !e.interrupted(); t = e.now() {
		if t >= nextSweep {
			for ci := range e.conns {
				c := &e.conns[ci]
				switch {
				case c.rec >= 0 && e.recs[c.rec].Intended+int64(cfg.Timeout) <= t:
					e.fail(ci, timeoutErr, errTimeout, t)
				case c.rec < 0:
					e.begin(ci, next(ci, t), t)
				}
			}
			nextSweep = t + int64(sweep)
		}
		e.poll(min(nextSweep, window))
	}
	res.Start, res.Wall = e.start, time.Duration(e.now())
	for ci := range e.conns {
		if e.conns[ci].rec >= 0 {
			res.InFlight++
		}
	}
	if cfg.Records {
		kept := e.recs[:0]
		for _, r := range e.recs {
			if r.Done >= 0 && r.Done < window {
				kept = append(kept, r)
			}
		}
		res.Records = kept
	}
	return res, nil
}
