package main

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// A stream is one kind of request sent at a fixed rate on its own
// connections: name=path@rate[+phase][:connections], or with Poisson arrivals
// of that mean rate: name=path@~rate...
type stream struct {
	Name        string
	Path        string
	Rate        float64       // requests per second
	Phase       time.Duration // offset of the stream's first request from the start
	Connections int           // 0: the -connections default
	Poisson     bool          // exponential gaps (seeded by -seed) instead of equal ones
}

type config struct {
	URL         string // base URL, e.g. http://127.0.0.1:8080
	Mode        string // "open" (a schedule of streams) or "closed" (Path, back to back)
	Streams     []stream
	Path        string        // closed loop: the request path
	Duration    time.Duration // open: no request is scheduled at or after this offset; closed: the window
	Timeout     time.Duration // a request without a response this long after its intended time is a timeout
	Connections int           // open: per stream unless the stream says; closed: in all
	Prime       string        // open: the path each connection requests once before the clock starts ("" = its stream's)
	PrimeWait   time.Duration // open: how long priming may take; connections not answered by then are closed
	Allowance   time.Duration // closed: the steady window starts at the latest here (default duration/4)
	Records     bool          // keep per-request records (closed mode keeps none otherwise)
	Seed        uint64        // open: the seed of Poisson streams' arrival times
	// open loop, background connections (background.go)
	Idle         int            // idle connections: answered once, then silent
	IdleWait     time.Duration  // how long setting them up may take
	Slow         int            // slowloris clients: a request head one byte at a time
	SlowInterval time.Duration  // between two bytes of a slow client
	Pad          map[string]int // stream name -> size its request heads are padded to
}

// streamConns is the number of connections of all streams.
func (c config) streamConns() int {
	n := 0
	for i := range c.Streams {
		n += c.connectionsOf(i)
	}
	return n
}

// connections of stream i, after the default is applied.
func (c config) connectionsOf(i int) int {
	if n := c.Streams[i].Connections; n > 0 {
		return n
	}
	return c.Connections
}

// slot is one scheduled request: its intended offset from the start, its
// stream, and the connection that carries it.
type slot struct {
	At     time.Duration
	Stream int32
	Conn   int32
}

// kind is what went wrong with a request; none when a response arrived.
type kind uint8

const (
	none kind = iota
	connectErr
	writeErr
	readErr
	timeoutErr
)

var kindNames = [...]string{"", "connect", "write", "read", "timeout"}

// record is the outcome of one request. Times are ns since the run's start on
// the monotonic clock; Sent < 0: never written; Done < 0: no outcome yet.
type record struct {
	Intended int64 // when the schedule said to send it (closed loop: when its connection became free)
	Ready    int64 // max(intended, when its connection became free): from here on, lateness is the generator's
	Sent     int64 // when the write of the whole request returned
	Done     int64 // when the last byte of the response was read, or when the request failed
	Stream   int32
	Conn     int32
	Status   int32 // 0 when there was no (complete) response
	Kind     kind
	Err      string // detail of a failure
}

// schedule returns every stream's intended send times in [0, duration),
// merged into one time-ordered list (ties keep stream order). Request k of
// stream s goes out at phase + k/rate on connection k mod C_s of the stream's
// own C_s connections (numbered after the previous streams' connections), so
// each connection carries an evenly spaced share of its stream, as in wrk2.
func schedule(cfg config) []slot {
	var slots []slot
	first := 0
	for i, s := range cfg.Streams {
		n := cfg.connectionsOf(i)
		next := arrivals(s, cfg.Seed+uint64(i))
		for k := 0; ; k++ {
			at := next(k)
			if at >= cfg.Duration {
				break
			}
			slots = append(slots, slot{At: at, Stream: int32(i), Conn: int32(first + k%n)})
		}
		first += n
	}
	slices.SortStableFunc(slots, func(a, b slot) int { return cmp.Compare(a.At, b.At) })
	return slots
}

// arrivals returns the intended time of request k (called with k = 0, 1, ...):
// phase + k/rate, computed rather than accumulated so there is no drift; or,
// for a Poisson stream, the running sum of exponential gaps of mean 1/rate from
// a generator seeded with seed, so a run can be repeated exactly.
func arrivals(s stream, seed uint64) func(k int) time.Duration {
	if !s.Poisson {
		return func(k int) time.Duration { return s.Phase + time.Duration(float64(k)*1e9/s.Rate+0.5) }
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	at := float64(s.Phase)
	return func(k int) time.Duration {
		if k > 0 {
			at += rng.ExpFloat64() * 1e9 / s.Rate
		}
		return time.Duration(at + 0.5)
	}
}
