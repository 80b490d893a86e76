package main

// The pacer's outputs: one CSV record per request, one JSON summary line.

import (
	"bufio"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

var csvHeader = "stream,connection,intended_ns,ready_ns,sent_ns,done_ns,status,error\n"

// writeRecords writes the per-request records as CSV. Names are checked to
// need no quoting; error details are quoted.
func writeRecords(out io.Writer, names []string, recs []record) error {
	bw := bufio.NewWriterSize(out, 1<<16)
	bw.WriteString(csvHeader)
	var b []byte
	opt := func(v int64) {
		if v >= 0 {
			b = strconv.AppendInt(b, v, 10)
		}
		b = append(b, ',')
	}
	for i := range recs {
		r := &recs[i]
		b = append(b[:0], names[r.Stream]...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(r.Conn), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, r.Intended, 10)
		b = append(b, ',')
		opt(r.Ready)
		opt(r.Sent)
		b = strconv.AppendInt(b, r.Done, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(r.Status), 10)
		b = append(b, ',')
		if r.Kind != none { // kind: detail, quoted as CSV quotes
			b = append(b, '"')
			b = append(b, strings.ReplaceAll(kindNames[r.Kind]+": "+r.Err, `"`, `""`)...)
			b = append(b, '"')
		}
		b = append(b, '\n')
		bw.Write(b)
	}
	return bw.Flush()
}

// output is where the records go: stdout, nowhere (""), or a temporary file
// created before the run (so an unwritable path fails at once) and renamed
// into place after.
type output struct {
	path string
	f    *os.File
}

func openOutput(path string) (*output, error) {
	switch path {
	case "":
		return &output{}, nil
	case "-":
		return &output{path, os.Stdout}, nil
	}
	f, err := os.Create(path + ".tmp")
	return &output{path, f}, err
}

func (o *output) commit(names []string, recs []record) error {
	if o.f == nil {
		return nil
	}
	err := writeRecords(o.f, names, recs)
	if o.f == os.Stdout {
		return err
	}
	if err = errors.Join(err, o.f.Close()); err == nil {
		err = os.Rename(o.f.Name(), o.path)
	}
	if err != nil {
		os.Remove(o.f.Name())
	}
	return err
}

type errorCounts struct {
	Connect int `json:"connect"`
	Read    int `json:"read"`
	Write   int `json:"write"`
	Timeout int `json:"timeout"`
}

func (e *errorCounts) add(k kind) {
	switch k {
	case connectErr:
		e.Connect++
	case readErr:
		e.Read++
	case writeErr:
		e.Write++
	case timeoutErr:
		e.Timeout++
	}
}

// A latency percentile in ns; null when it falls on a request that failed or
// was not answered with a 2xx (an infinitely slow request).
type latencies struct {
	P50 *int64 `json:"p50"`
	P90 *int64 `json:"p90"`
	P99 *int64 `json:"p99"`
	Max *int64 `json:"max"`
}

type lags struct {
	P50 int64 `json:"p50"`
	P99 int64 `json:"p99"`
	Max int64 `json:"max"`
}

func lagsOf(v []int64) lags { return lags{percentile(v, 0.5), percentile(v, 0.99), percentile(v, 1)} }

type streamSummary struct {
	Name        string      `json:"name"`
	Path        string      `json:"path"`
	RatePerS    float64     `json:"rate_per_s"`
	PhaseNs     int64       `json:"phase_ns"`
	Arrivals    string      `json:"arrivals"` // "fixed" (equal gaps) or "poisson" (seeded exponential gaps)
	Connections int         `json:"connections"`
	Scheduled   int         `json:"scheduled"`
	Sent        int         `json:"sent"`
	Achieved    float64     `json:"achieved"` // share of the scheduled requests written before the schedule ended
	OK          int         `json:"ok"`
	Non2xx      int         `json:"non_2xx"`
	Errors      errorCounts `json:"errors"`
	DispatchLag lags        `json:"dispatch_lag_ns"` // sent - ready: the generator's own lateness
	ConnWait    lags        `json:"connection_wait_ns"`
	SendLag     lags        `json:"send_lag_ns"` // sent - intended = connection wait + dispatch lag
	LatencyNs   *latencies  `json:"latency_ns"`  // from the intended time; null if nothing was scheduled
}

type openSummary struct {
	Mode        string          `json:"mode"`
	Seed        uint64          `json:"seed"` // of the Poisson streams' arrival times
	StartUnixNs int64           `json:"start_unix_ns"`
	DurationNs  int64           `json:"duration_ns"`
	TimeoutNs   int64           `json:"timeout_ns"`
	WallNs      int64           `json:"wall_ns"`
	URL         string          `json:"url"`
	Connections int             `json:"connections"`
	Primed      int             `json:"primed"`
	PrimeNs     int64           `json:"prime_ns"`
	Interrupted bool            `json:"interrupted"`
	DispatchLag lags            `json:"dispatch_lag_ns"` // over every stream
	Streams     []streamSummary `json:"streams"`
	Nofile      uint64          `json:"nofile"`         // the pacer's descriptor limit
	Idle        *idleStats      `json:"idle,omitempty"` // -idle: the idle connections
	Slow        *slowStats      `json:"slow,omitempty"` // -slow: the slowloris clients
}

func summarizeOpen(cfg config, res *openResult, interrupted bool) openSummary {
	s := openSummary{Mode: "open", Seed: cfg.Seed, StartUnixNs: res.Start.UnixNano(), DurationNs: int64(cfg.Duration),
		TimeoutNs: int64(cfg.Timeout), WallNs: int64(res.Wall), URL: cfg.URL, Primed: res.Primed,
		PrimeNs: int64(res.PrimeWall), Interrupted: interrupted, Nofile: nofile(), Idle: res.Idle,
		Slow: res.Slow}
	var allLags []int64
	for i, st := range cfg.Streams {
		ss := streamSummary{Name: st.Name, Path: st.Path, RatePerS: st.Rate, PhaseNs: int64(st.Phase),
			Arrivals: "fixed", Connections: cfg.connectionsOf(i)}
		if st.Poisson {
			ss.Arrivals = "poisson"
		}
		s.Connections += ss.Connections
		var dispatch, wait, send, lat []int64
		for _, r := range res.Records {
			if int(r.Stream) != i {
				continue
			}
			ss.Scheduled++
			if r.Sent >= 0 {
				ss.Sent++
				if r.Sent < int64(cfg.Duration) {
					ss.Achieved++
				}
				dispatch = append(dispatch, r.Sent-r.Ready)
				wait = append(wait, r.Ready-r.Intended)
				send = append(send, r.Sent-r.Intended)
			}
			switch {
			case r.Status >= 200 && r.Status < 300:
				ss.OK++
				lat = append(lat, r.Done-r.Intended)
			case r.Status != 0:
				ss.Non2xx++
				lat = append(lat, math.MaxInt64)
			default:
				ss.Errors.add(r.Kind)
				lat = append(lat, math.MaxInt64)
			}
		}
		if ss.Scheduled > 0 {
			ss.Achieved /= float64(ss.Scheduled)
		}
		allLags = append(allLags, dispatch...)
		ss.DispatchLag, ss.ConnWait, ss.SendLag = lagsOf(dispatch), lagsOf(wait), lagsOf(send)
		if len(lat) > 0 {
			finite := func(p float64) *int64 {
				if v := percentile(lat, p); v != math.MaxInt64 {
					return &v
				}
				return nil
			}
			ss.LatencyNs = &latencies{finite(0.5), finite(0.9), finite(0.99), finite(1)}
		}
		s.Streams = append(s.Streams, ss)
	}
	s.DispatchLag = lagsOf(allLags)
	return s
}

type connSummary struct {
	Responses       int    `json:"responses"`
	FirstResponseNs *int64 `json:"first_response_ns"` // null: never answered
}

type closedSummary struct {
	Mode        string `json:"mode"`
	StartUnixNs int64  `json:"start_unix_ns"`
	DurationNs  int64  `json:"duration_ns"`
	TimeoutNs   int64  `json:"timeout_ns"`
	WallNs      int64  `json:"wall_ns"`
	URL         string `json:"url"`
	Path        string `json:"path"`
	Connections int    `json:"connections"`
	Interrupted bool   `json:"interrupted"`
	counts
	InFlightAtEnd     int           `json:"in_flight_at_end"`
	GoodputPerS       float64       `json:"goodput_per_s"`
	SetupNs           *int64        `json:"setup_ns"` // until every connection had its first response; null if some never did
	NeverServed       int           `json:"never_served"`
	SteadyStartNs     int64         `json:"steady_start_ns"`
	SteadyOK          int           `json:"steady_ok"`
	SteadyGoodputPerS *float64      `json:"steady_goodput_per_s"` // null if the steady window is empty
	PerConnection     []connSummary `json:"per_connection"`
}

func summarizeClosed(cfg config, res *closedResult, interrupted bool) closedSummary {
	s := closedSummary{Mode: "closed", StartUnixNs: res.Start.UnixNano(), DurationNs: int64(cfg.Duration),
		TimeoutNs: int64(cfg.Timeout), WallNs: int64(res.Wall), URL: cfg.URL, Path: cfg.Path,
		Connections: cfg.Connections, Interrupted: interrupted, counts: res.Counts, InFlightAtEnd: res.InFlight}
	window := min(cfg.Duration, time.Duration(res.Wall))
	s.GoodputPerS = float64(s.OK) / window.Seconds()
	var setup int64
	for _, c := range res.Conns {
		cs := connSummary{Responses: c.Responses}
		if c.First >= 0 {
			cs.FirstResponseNs = &c.First
			setup = max(setup, c.First)
		} else {
			s.NeverServed++
		}
		s.PerConnection = append(s.PerConnection, cs)
	}
	s.SteadyStartNs = int64(cfg.Allowance)
	if s.NeverServed == 0 {
		s.SetupNs, s.SteadyStartNs = &setup, setup
	}
	// The window is counted in whole milliseconds, from the one after the start.
	first := int(s.SteadyStartNs/int64(time.Millisecond)) + 1
	last := int(window / time.Millisecond)
	for m := first; m < last && m < len(res.OKPerMilli); m++ {
		s.SteadyOK += int(res.OKPerMilli[m])
	}
	if last > first {
		v := float64(s.SteadyOK) / (float64(last-first) / 1000)
		s.SteadyGoodputPerS = &v
	}
	return s
}

// percentile is the nearest-rank percentile (0 < p <= 1) of v; 0 for no values.
func percentile(v []int64, p float64) int64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[max(0, int(math.Ceil(p*float64(len(v))))-1)]
}
