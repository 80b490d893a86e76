package main

// The pacer's two outputs: one CSV record per request, one JSON summary line.

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
)

// writeRecords writes the per-request records as CSV.
func writeRecords(out io.Writer, cfg config, recs []record) error {
	bw := bufio.NewWriterSize(out, 1<<16)
	w := csv.NewWriter(bw)
	_ = w.Write([]string{"stream", "intended_ns", "sent_ns", "done_ns", "status", "error"})
	for _, r := range recs {
		sent, errText := "", ""
		if r.Sent >= 0 {
			sent = strconv.FormatInt(int64(r.Sent), 10)
		}
		if r.Kind != "" {
			errText = r.Kind + ": " + r.Err
		}
		_ = w.Write([]string{cfg.Streams[r.Stream].Name, strconv.FormatInt(int64(r.Intended), 10),
			sent, strconv.FormatInt(int64(r.Done), 10), strconv.Itoa(r.Status), errText})
	}
	w.Flush()
	return errors.Join(w.Error(), bw.Flush())
}

// output is where the records go: stdout, or a temporary file created before
// the run (so an unwritable path fails at once) and renamed into place after.
type output struct {
	path string
	f    *os.File
}

func openOutput(path string) (*output, error) {
	if path == "-" {
		return &output{path, os.Stdout}, nil
	}
	f, err := os.Create(path + ".tmp")
	return &output{path, f}, err
}

func (o *output) commit(cfg config, recs []record) error {
	err := writeRecords(o.f, cfg, recs)
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
	Status  int `json:"status"` // a response arrived, but not 2xx
	Timeout int `json:"timeout"`
}

type latencies struct {
	P50 int64 `json:"p50"`
	P90 int64 `json:"p90"`
	P99 int64 `json:"p99"`
	Max int64 `json:"max"`
}

type streamSummary struct {
	Name             string      `json:"name"`
	Path             string      `json:"path"`
	RatePerS         float64     `json:"rate_per_s"`
	PhaseNs          int64       `json:"phase_ns"`
	Scheduled        int         `json:"scheduled"`
	Sent             int         `json:"sent"`
	OK               int         `json:"ok"`
	Errors           errorCounts `json:"errors"`
	P99DispatchLagNs int64       `json:"p99_dispatch_lag_ns"`
	MaxDispatchLagNs int64       `json:"max_dispatch_lag_ns"`
	P99SendLagNs     int64       `json:"p99_send_lag_ns"`
	MaxSendLagNs     int64       `json:"max_send_lag_ns"`
	LatencyNs        *latencies  `json:"latency_ns"` // over 2xx responses, from the intended time; null if none
}

type summary struct {
	StartUnixNs int64           `json:"start_unix_ns"`
	DurationNs  int64           `json:"duration_ns"`
	TimeoutNs   int64           `json:"timeout_ns"`
	WallNs      int64           `json:"wall_ns"`
	URL         string          `json:"url"`
	Connections int             `json:"connections"`
	Interrupted bool            `json:"interrupted"`
	Streams     []streamSummary `json:"streams"`
}

func summarize(cfg config, res *result, interrupted bool) summary {
	s := summary{StartUnixNs: res.Start.UnixNano(), DurationNs: int64(cfg.Duration), TimeoutNs: int64(cfg.Timeout),
		WallNs: int64(res.Wall), URL: cfg.URL, Connections: cfg.Connections, Interrupted: interrupted}
	for i, st := range cfg.Streams {
		ss := streamSummary{Name: st.Name, Path: st.Path, RatePerS: st.Rate, PhaseNs: int64(st.Phase)}
		var dispatchLags, sendLags, lat []int64
		for _, r := range res.Records {
			if r.Stream != i {
				continue
			}
			ss.Scheduled++
			dispatchLags = append(dispatchLags, int64(r.Dispatched-r.Intended))
			if r.Sent >= 0 {
				ss.Sent++
				sendLags = append(sendLags, int64(r.Sent-r.Intended))
			}
			switch {
			case r.Status >= 200 && r.Status < 300:
				ss.OK++
				lat = append(lat, int64(r.Done-r.Intended))
			case r.Status != 0:
				ss.Errors.Status++
			case r.Kind == "connect":
				ss.Errors.Connect++
			case r.Kind == "read":
				ss.Errors.Read++
			case r.Kind == "write":
				ss.Errors.Write++
			default:
				ss.Errors.Timeout++
			}
		}
		ss.P99DispatchLagNs, ss.MaxDispatchLagNs = percentile(dispatchLags, 0.99), percentile(dispatchLags, 1)
		ss.P99SendLagNs, ss.MaxSendLagNs = percentile(sendLags, 0.99), percentile(sendLags, 1)
		if len(lat) > 0 {
			ss.LatencyNs = &latencies{percentile(lat, 0.5), percentile(lat, 0.9), percentile(lat, 0.99), percentile(lat, 1)}
		}
		s.Streams = append(s.Streams, ss)
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
