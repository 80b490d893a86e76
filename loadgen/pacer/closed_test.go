package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func mustClosed(t *testing.T, cfg config) (*closedResult, closedSummary) {
	t.Helper()
	cfg.Mode = "closed"
	if cfg.Allowance == 0 {
		cfg.Allowance = cfg.Duration / 4
	}
	res, err := runClosed(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res, summarizeClosed(cfg, res, false)
}

// answersThree is a server that answers only its first 3 accepted
// connections; the others are read but never answered, like connections
// waiting for a busy pool worker. /missing gets 404s.
func answersThree(t *testing.T) string {
	return rawServer(t, func(c net.Conn, br *bufio.Reader, n int) {
		for {
			req, ok := readRequest(br)
			if !ok {
				return
			}
			if n < 3 {
				status := "200 OK"
				if strings.HasPrefix(req, "GET /missing") {
					status = "404 Not Found"
				}
				fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Length: 4\r\n\r\npong", status)
			}
		}
	})
}

// Exactly the connections never served are reported, set-up is undefined,
// and the steady window starts at the set-up allowance.
func TestClosedLoopCountsConnectionsNeverServed(t *testing.T) {
	res, sum := mustClosed(t, config{URL: answersThree(t), Path: "/ping", Connections: 8,
		Duration: 500 * time.Millisecond, Timeout: 5 * time.Second, Records: true})
	if sum.NeverServed != 5 || sum.SetupNs != nil || sum.SteadyStartNs != int64(125*time.Millisecond) {
		t.Fatalf("never served %d (want 5), setup %v (want null), steady start %d", sum.NeverServed, sum.SetupNs, sum.SteadyStartNs)
	}
	served, total := 0, 0
	for i, c := range sum.PerConnection {
		total += c.Responses
		if c.Responses > 0 {
			served++
			if c.FirstResponseNs == nil {
				t.Errorf("connection %d: responses but no first response time", i)
			}
		} else if c.FirstResponseNs != nil {
			t.Errorf("connection %d: a first response time but no response", i)
		}
	}
	// The 5 starved connections are still waiting at the end (not errors), and
	// so may be some of the 3 served ones.
	if served != 3 || total != sum.OK || sum.OK != len(res.Records) || sum.Requests != sum.OK ||
		sum.InFlightAtEnd < 5 || sum.InFlightAtEnd > 8 {
		t.Errorf("served %d, responses %d, ok %d, records %d, requests %d, in flight %d",
			served, total, sum.OK, len(res.Records), sum.Requests, sum.InFlightAtEnd)
	}
	if sum.SteadyGoodputPerS == nil || *sum.SteadyGoodputPerS <= 0 {
		t.Errorf("steady goodput %v", sum.SteadyGoodputPerS)
	}
	for _, r := range res.Records {
		if r.Ready < r.Intended || r.Sent < r.Ready || r.Done < r.Sent || r.Status != 200 {
			t.Fatalf("record %+v", r)
		}
	}
}

// Goodput counts 2xx only.
func TestClosedLoopGoodputIsTwoHundredsOnly(t *testing.T) {
	_, sum := mustClosed(t, config{URL: answersThree(t), Path: "/missing", Connections: 8,
		Duration: 300 * time.Millisecond, Timeout: 5 * time.Second})
	if sum.OK != 0 || sum.Non2xx == 0 || sum.GoodputPerS != 0 || sum.NeverServed != 5 || *sum.SteadyGoodputPerS != 0 {
		t.Errorf("404s: ok %d, non-2xx %d, goodput %.0f, never served %d", sum.OK, sum.Non2xx, sum.GoodputPerS, sum.NeverServed)
	}
}

// Every connection served: set-up is when the last one got its first answer,
// the steady window starts there, and goodput is what a 2 ms server allows.
func TestClosedLoopSetupAndSteadyGoodput(t *testing.T) {
	url := rawServer(t, func(c net.Conn, br *bufio.Reader, n int) {
		if n == 3 {
			time.Sleep(100 * time.Millisecond) // a slow accept: set-up >= 100 ms
		}
		for {
			if _, ok := readRequest(br); !ok {
				return
			}
			time.Sleep(2 * time.Millisecond)
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong")
		}
	})
	_, sum := mustClosed(t, config{URL: url, Path: "/", Connections: 4, Duration: time.Second, Timeout: 5 * time.Second})
	if sum.NeverServed != 0 || sum.SetupNs == nil || *sum.SetupNs < int64(100*time.Millisecond) ||
		sum.SteadyStartNs != *sum.SetupNs {
		t.Fatalf("setup %v, steady start %d, never served %d", sum.SetupNs, sum.SteadyStartNs, sum.NeverServed)
	}
	// 4 connections x one answer per ~2.1 ms: at most ~1900/s; a sleep on a
	// busy machine only lasts longer, so a wide lower bound.
	if g := *sum.SteadyGoodputPerS; g < 500 || g > 2000 {
		t.Errorf("steady goodput %.0f/s, want ~1900/s", g)
	}
	if sum.GoodputPerS >= *sum.SteadyGoodputPerS {
		t.Errorf("goodput over the whole window (%.0f/s) includes the slow set-up, so is below the steady one (%.0f/s)",
			sum.GoodputPerS, *sum.SteadyGoodputPerS)
	}
}

// A request that gets no answer within the timeout is an error, and its
// connection is dialled again.
func TestClosedLoopTimeouts(t *testing.T) {
	url := rawServer(t, func(c net.Conn, br *bufio.Reader, n int) {
		for {
			if _, ok := readRequest(br); !ok || n == 0 {
				return // the first connection is closed without an answer, the others hang
			}
		}
	})
	res, sum := mustClosed(t, config{URL: url, Path: "/", Connections: 2, Duration: 500 * time.Millisecond,
		Timeout: 100 * time.Millisecond, Records: true})
	if sum.OK != 0 || sum.Errors.Timeout < 3 || sum.Errors.Read < 1 || sum.NeverServed != 2 {
		t.Errorf("ok %d, timeouts %d, read errors %d, never served %d", sum.OK, sum.Errors.Timeout, sum.Errors.Read, sum.NeverServed)
	}
	for _, r := range res.Records {
		if r.Kind == timeoutErr && r.Done-r.Intended < int64(100*time.Millisecond) {
			t.Errorf("timeout before the deadline: %+v", r)
		}
	}
}
