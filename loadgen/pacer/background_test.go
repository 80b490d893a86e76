package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer answers every request with "pong" on a keep-alive connection and
// counts the connections it has open; close tells it to close the first n it accepted.
type countingServer struct {
	url   string
	open  atomic.Int64
	mu    sync.Mutex
	conns []net.Conn
}

func newCountingServer(t *testing.T) *countingServer {
	s := &countingServer{}
	s.url = rawServer(t, func(c net.Conn, br *bufio.Reader, n int) {
		s.open.Add(1)
		defer s.open.Add(-1)
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		for {
			if _, ok := readRequest(br); !ok {
				return
			}
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong"))
		}
	})
	return s
}

func (s *countingServer) closeFirst(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns[:n] {
		c.Close()
	}
}

// Idle connections are opened and answered before the clock, held silent while the
// streams run (the server sees them all open at once), and counted at the end: those
// the server closed meanwhile are not open at the end.
func TestIdleConnectionsAreHeldAndCounted(t *testing.T) {
	s := newCountingServer(t)
	cfg := config{URL: s.url, Duration: 600 * time.Millisecond, Timeout: time.Second, Connections: 2,
		Idle: 300, IdleWait: 10 * time.Second, Streams: []stream{{Name: "ping", Path: "/ping", Rate: 50}}}
	var seen int64
	go func() { // halfway through the run: how many connections the server holds, then drop 20
		time.Sleep(400 * time.Millisecond)
		seen = s.open.Load()
		s.closeFirst(20)
	}()
	_, sum := mustOpen(t, context.Background(), cfg)
	idle := sum.Idle
	if idle == nil || idle.Requested != 300 || idle.Opened != 300 || idle.Primed != 300 {
		t.Fatalf("idle set-up %+v", idle)
	}
	if seen != 302 {
		t.Errorf("the server held %d connections during the run, want 300 idle + 2 streams", seen)
	}
	// The first 20 the server accepted are idle ones (they were dialled first).
	if idle.ClosedByServer != 20 || idle.OpenAtEnd != 280 {
		t.Errorf("want 20 closed by the server and 280 open at the end: %+v", idle)
	}
	if ss := sum.Streams[0]; ss.OK != 30 {
		t.Errorf("the stream beside them: %+v", ss)
	}
	if sum.Nofile < 300 {
		t.Errorf("descriptor limit %d", sum.Nofile)
	}
}

// An idle connection the server never answers (a pool with every worker taken) stays
// open, unanswered, and the set-up ends at -idle-wait.
func TestUnansweredIdleConnectionsStayOpen(t *testing.T) {
	url := rawServer(t, func(c net.Conn, br *bufio.Reader, n int) {
		readRequest(br)
		if n == 0 {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong"))
		}
		io.Copy(io.Discard, br) // until the client closes
	})
	cfg := config{URL: url, Duration: 100 * time.Millisecond, Timeout: 200 * time.Millisecond, Connections: 1,
		PrimeWait: 100 * time.Millisecond, Idle: 3, IdleWait: 300 * time.Millisecond,
		Streams: []stream{{Name: "ping", Path: "/ping", Rate: 10}}}
	_, sum := mustOpen(t, context.Background(), cfg)
	if idle := sum.Idle; idle.Opened != 3 || idle.Primed != 1 || idle.OpenAtEnd != 3 ||
		idle.SetupNs < int64(300*time.Millisecond) {
		t.Errorf("want 3 opened, 1 answered, 3 open at the end after a 300 ms set-up: %+v", idle)
	}
}

// A slow client sends one byte per interval and never ends its head; one the server
// closes (with a 408 here) is dialled again at the next tick.
func TestSlowClientsTrickleAndReconnect(t *testing.T) {
	var mu sync.Mutex
	var got []string // what each slow connection sent, in accept order
	url := rawServer(t, func(c net.Conn, br *bufio.Reader, n int) {
		if n >= 2 { // the stream's connection
			for {
				if _, ok := readRequest(br); !ok {
					return
				}
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong"))
			}
		}
		var b strings.Builder
		deadline := time.Now().Add(350 * time.Millisecond)
		for time.Now().Before(deadline) {
			c.SetReadDeadline(deadline)
			ch, err := br.ReadByte()
			if err != nil {
				break
			}
			b.WriteByte(ch)
		}
		mu.Lock()
		got = append(got, b.String())
		mu.Unlock()
		if n == 0 {
			c.Write([]byte("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			c.Close()
		}
		c.SetReadDeadline(time.Time{})
		io.Copy(io.Discard, br) // hold the others until the client leaves
	})
	cfg := config{URL: url, Duration: 800 * time.Millisecond, Timeout: time.Second, Connections: 1,
		Slow: 2, SlowInterval: 50 * time.Millisecond, PrimeWait: time.Second,
		Streams: []stream{{Name: "ping", Path: "/ping", Rate: 10}}}
	_, sum := mustOpen(t, context.Background(), cfg)
	slow := sum.Slow
	if slow == nil || slow.Connected != 2 || slow.ClosedByServer != 1 || slow.Responses["408"] != 1 ||
		slow.Connects != 3 || slow.OpenAtEnd != 2 {
		t.Fatalf("want 2 connected, 1 closed with a 408 and connected again, 2 open at the end: %+v", slow)
	}
	mu.Lock()
	defer mu.Unlock()
	// In 350 ms at one byte per 50 ms a connection sends about 7 bytes (the first at
	// once); a client that sent its head at once would have sent 33.
	for _, head := range got[:2] {
		if len(head) < 3 || len(head) > 12 || !strings.HasPrefix("GET /ping HTTP/1.1\r\nHost: ", head[:3]) {
			t.Errorf("a slow client sent %q in 350 ms", head)
		}
	}
	if sum.Streams[0].OK != 8 {
		t.Errorf("the stream beside the slow clients: %+v", sum.Streams[0])
	}
}

func TestPaddedRequests(t *testing.T) {
	var mu sync.Mutex
	sizes := map[int]int{}
	url := rawServer(t, func(c net.Conn, br *bufio.Reader, n int) {
		for {
			head, ok := readRequest(br)
			if !ok {
				return
			}
			mu.Lock()
			sizes[len(head)]++
			mu.Unlock()
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong"))
		}
	})
	cfg := config{URL: url, Duration: 200 * time.Millisecond, Timeout: time.Second, Connections: 1, Prime: "/p",
		Pad: map[string]int{"big": 6000}, Streams: []stream{{Name: "big", Path: "/ping", Rate: 20}}}
	_, sum := mustOpen(t, context.Background(), cfg)
	if sum.Streams[0].OK != 4 {
		t.Fatalf("%+v", sum.Streams[0])
	}
	mu.Lock()
	defer mu.Unlock()
	if sizes[6000] != 4 || len(sizes) != 2 { // the prime request is not padded
		t.Errorf("request head sizes %v, want 4 of 6000 bytes and the prime", sizes)
	}
}
