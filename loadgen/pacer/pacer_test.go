package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func ms(d int64) float64 { return float64(d) / 1e6 }

func TestParseStream(t *testing.T) {
	s, err := parseStream("cpu=/cpu?ms=100@2.5+250ms:3")
	if err != nil || s != (stream{"cpu", "/cpu?ms=100", 2.5, 250 * time.Millisecond, 3, false}) {
		t.Fatalf("got %+v, %v", s, err)
	}
	if s, err = parseStream("cpu=/cpu?ms=100@~2+250ms:2"); err != nil || !s.Poisson || s.Rate != 2 {
		t.Fatalf("~ before the rate means Poisson arrivals: got %+v, %v", s, err)
	}
	if s, err = parseStream("a=/x@y@10"); err != nil || s.Path != "/x@y" || s.Rate != 10 || s.Connections != 0 {
		t.Fatalf("the rate is after the last @: got %+v, %v", s, err)
	}
	for _, bad := range []string{"", "ping", "=/ping@1", "p=/ping", "p=ping@1", "p=/ping@0", "p=/ping@-1",
		"p=/ping@x", "p=/ping@Inf", "p=/ping@1+x", "p=/ping@1+-1s", "a,b=/ping@1", "p=/a b@1", "p=/\r\n@1", "p=/é@1",
		"p=/ping@1:0", "p=/ping@1:x", "p=/ping@1+5ms:", "p=/ping@~", "p=/ping@~~1"} {
		if _, err := parseStream(bad); err == nil {
			t.Errorf("%q: expected an error", bad)
		}
	}
}

func TestScheduleMergesStreamsAndGivesEachItsOwnConnections(t *testing.T) {
	cfg := config{Duration: time.Second, Connections: 2, Streams: []stream{
		{Name: "a", Rate: 4}, {Name: "b", Rate: 2, Phase: 100 * time.Millisecond, Connections: 1}}}
	ms := time.Millisecond
	want := []slot{{0, 0, 0}, {100 * ms, 1, 2}, {250 * ms, 0, 1}, {500 * ms, 0, 0},
		{600 * ms, 1, 2}, {750 * ms, 0, 1}}
	slots := schedule(cfg)
	if len(slots) != len(want) {
		t.Fatalf("got %v, want %v", slots, want)
	}
	for i := range want {
		if slots[i] != want[i] {
			t.Fatalf("got %v, want %v", slots, want)
		}
	}
	// Intended times are computed from the start, not accumulated: no drift.
	slots = schedule(config{Duration: 100 * time.Second, Connections: 1, Streams: []stream{{Rate: 3}}})
	if len(slots) != 300 || slots[299].At != 99_666_666_667 {
		t.Fatalf("got %d slots, last at %v", len(slots), slots[len(slots)-1].At)
	}
}

func TestCSVFormat(t *testing.T) {
	recs := []record{
		{Stream: 0, Conn: 3, Intended: 0, Ready: 0, Sent: 1500, Done: 90000, Status: 200},
		{Stream: 1, Conn: 0, Intended: 5000, Ready: -1, Sent: -1, Done: 7000, Kind: connectErr, Err: `refused "here"`},
	}
	path := filepath.Join(t.TempDir(), "r.csv")
	out, err := openOutput(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.commit([]string{"ping", "cpu"}, recs); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "stream,connection,intended_ns,ready_ns,sent_ns,done_ns,status,error\n" +
		"ping,3,0,0,1500,90000,200,\n" +
		`cpu,0,5000,,,7000,0,"connect: refused ""here"""` + "\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind")
	}
}

// okServer is a net/http server answering "pong" (with Content-Length).
func okServer(t *testing.T, h http.HandlerFunc) string {
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("pong")) }
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// rawServer accepts connections and hands each, with its number in accept
// order, to serve; for servers that misbehave in ways net/http will not.
func rawServer(t *testing.T, serve func(c net.Conn, br *bufio.Reader, n int)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go func() {
				defer c.Close()
				serve(c, bufio.NewReader(c), n)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// readRequest reads one request head; false when the client went away.
func readRequest(br *bufio.Reader) (string, bool) {
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", false
		}
		head.WriteString(line)
		if line == "\r\n" {
			return head.String(), true
		}
	}
}

func mustOpen(t *testing.T, ctx context.Context, cfg config) (*openResult, openSummary) {
	t.Helper()
	if cfg.PrimeWait == 0 {
		cfg.PrimeWait = 2 * time.Second
	}
	cfg.Mode = "open"
	res, err := runOpen(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res, summarizeOpen(cfg, res, ctx.Err() != nil)
}

func TestPoissonArrivalsAreSeededExponentialGaps(t *testing.T) {
	cfg := config{Streams: []stream{{Name: "cpu", Rate: 50, Poisson: true, Phase: time.Second}},
		Duration: 401 * time.Second, Connections: 1, Seed: 7}
	slots := schedule(cfg)
	if slots[0].At != time.Second {
		t.Fatalf("the first arrival is at the phase, got %v", slots[0].At)
	}
	// 400 s at a mean rate of 50/s: about 20,000 arrivals (Poisson: sd ~141).
	if n := len(slots); n < 19_500 || n > 20_500 {
		t.Fatalf("%d arrivals in 400 s at 50/s", n)
	}
	var gaps []float64
	for i := 1; i < len(slots); i++ {
		gaps = append(gaps, float64(slots[i].At-slots[i-1].At)/1e6)
	}
	short := 0 // exponential: P(gap < mean) = 1 - 1/e = 0.632
	for _, g := range gaps {
		if g < 20 {
			short++
		}
	}
	if share := float64(short) / float64(len(gaps)); share < 0.61 || share > 0.655 {
		t.Fatalf("%.3f of the gaps are shorter than the mean, want about 0.632", share)
	}
	again := schedule(cfg)
	if again[1000] != slots[1000] {
		t.Fatal("the same seed must give the same arrival times")
	}
	cfg.Seed = 8
	if other := schedule(cfg); other[1000] == slots[1000] {
		t.Fatal("another seed should give other arrival times")
	}
}
