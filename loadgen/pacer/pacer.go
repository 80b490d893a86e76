package main

import (
	"cmp"
	"context"
	"net"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"time"
)

// A stream is one kind of request sent at a fixed rate: name=path@rate[+phase].
type stream struct {
	Name  string
	Path  string
	Rate  float64       // requests per second
	Phase time.Duration // offset of the stream's first request from the start
}

type config struct {
	URL         string // base URL, e.g. http://127.0.0.1:8080
	Streams     []stream
	Duration    time.Duration // no request is scheduled at or after this offset
	Timeout     time.Duration // a request without a response this long after its intended time is a timeout
	Connections int           // bound on keep-alive connections
}

// slot is one scheduled request: its stream and intended offset from the start.
type slot struct {
	At     time.Duration
	Stream int
}

// record is the outcome of one slot. Times are offsets from the run's start on
// the monotonic clock; Sent < 0 means the request was never written.
type record struct {
	Stream     int
	Intended   time.Duration
	Dispatched time.Duration // when the scheduler handed it to a goroutine
	Sent       time.Duration // when write(2) of the request returned
	Done       time.Duration // when the body was read, or when the request failed
	Status     int           // 0 when there is no response
	Kind       string        // "" (a response arrived) or connect, write, read, timeout
	Err        string
}

type result struct {
	Start   time.Time
	Records []record
	Wall    time.Duration // from start until every record was final
}

// schedule returns every stream's intended send times in [0, duration),
// merged into one time-ordered list (ties keep stream order).
func schedule(streams []stream, duration time.Duration) []slot {
	var slots []slot
	for i, s := range streams {
		for k := 0; ; k++ {
			at := s.Phase + time.Duration(float64(k)*1e9/s.Rate+0.5)
			if at >= duration {
				break
			}
			slots = append(slots, slot{At: at, Stream: i})
		}
	}
	slices.SortStableFunc(slots, func(a, b slot) int { return cmp.Compare(a.At, b.At) })
	return slots
}

// run sends every slot at its intended time whatever the server does (open
// loop), then waits until each request has an outcome or its deadline
// (intended + timeout) has passed. Cancelling ctx stops sending early.
func run(ctx context.Context, cfg config) *result {
	u, _ := url.Parse(cfg.URL) // checked by validate
	port := u.Port()
	if port == "" {
		port = "80"
	}
	p := newPool(net.JoinHostPort(u.Hostname(), port), cfg.Connections)
	defer p.closeAll()
	heads := make([][]byte, len(cfg.Streams)) // each stream's request, built once
	for i, s := range cfg.Streams {
		heads[i] = []byte("GET " + u.Path + s.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: lab-pacer\r\n\r\n")
	}

	slots := schedule(cfg.Streams, cfg.Duration)
	recs := make([]record, len(slots))
	for i, s := range slots {
		recs[i] = record{Stream: s.Stream, Intended: s.At, Dispatched: -1, Sent: -1}
	}
	var (
		mu        sync.Mutex // guards recs against the final sweep below
		finalized bool
		wg        sync.WaitGroup
	)
	reqCtx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The scheduler sleeps in nanosleep(2), a system call that holds on to its
	// Go processor (P). A second P lets responses be read and new requests be
	// written meanwhile, even when the pacer is pinned to one core.
	runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	defer preciseTimers()()

	start := time.Now()
	sent := len(slots)
dispatch:
	for i, s := range slots {
		if !sleepUntil(ctx, start.Add(s.At)) {
			sent = i
			break dispatch
		}
		r := recs[i]
		r.Dispatched = time.Since(start)
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, sent, kind, err := p.exchange(reqCtx, heads[r.Stream], start.Add(r.Intended+cfg.Timeout))
			r.Done = time.Since(start)
			r.Status, r.Kind = status, kind
			if !sent.IsZero() {
				r.Sent = sent.Sub(start)
			}
			if err != nil {
				r.Err = err.Error()
			}
			mu.Lock()
			if !finalized {
				recs[i] = r
			}
			mu.Unlock()
		}()
	}

	// Every request carries its own deadline, so waiting until the last one
	// (end of schedule + timeout) is enough; an interrupt ends the wait at once.
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	drain := time.NewTimer(time.Until(start.Add(cfg.Duration + cfg.Timeout)))
	defer drain.Stop()
	select {
	case <-allDone:
	case <-drain.C:
	case <-ctx.Done():
	}
	cancel()
	mu.Lock()
	finalized = true
	end := time.Since(start)
	recs = recs[:sent] // after an interrupt, slots never dispatched are not part of the run
	for i := range recs {
		if recs[i].Status == 0 && recs[i].Kind == "" {
			recs[i].Kind, recs[i].Err, recs[i].Done = "timeout", "no response before the run ended", end
		}
	}
	mu.Unlock()
	return &result{Start: start, Records: recs, Wall: end}
}

// sleepUntil waits until t on the monotonic clock; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		d := time.Until(t)
		switch {
		case d <= 0:
			return true
		case d > 2*time.Millisecond:
			// Coarse part: an ordinary timer, woken early enough for the fine part.
			select {
			case <-time.After(d - time.Millisecond):
			case <-ctx.Done():
				return false
			}
		default:
			fineSleep(d)
		}
	}
}
