package main

import (
	"strings"
	"testing"
)

func TestParseHead(t *testing.T) {
	for _, c := range []struct {
		head string
		want head
	}{
		{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\n", head{200, 4, false}},
		{"HTTP/1.1 404 Not Found\r\ncontent-length:  12 \r\nConnection: close\r\n\r\n", head{404, 12, true}},
		{"HTTP/1.1 204\r\n\r\n", head{204, 0, false}},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", head{200, 0, true}},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n", head{200, 0, false}},
		{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\nConnection: upgrade, close\r\n\r\n", head{200, 3, true}},
	} {
		if got, err := parseHead([]byte(c.head)); err != nil || got != c.want {
			t.Errorf("%q: got %+v, %v; want %+v", c.head, got, err, c.want)
		}
	}
	for _, c := range []struct{ head, err string }{
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding"},
		{"HTTP/1.1 200 OK\r\n\r\n", "without Content-Length"},
		{"HTTP/1.1 100 Continue\r\n\r\n", "interim"},
		{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "Content-Length"},
		{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", "Content-Length"},
		{"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header"},
		{"HTTP/2 200 OK\r\n\r\n", "status line"},
		{"HTTP/1.1 2x0 OK\r\n\r\n", "status line"},
		{"HTTP/1.1 200OK\r\n\r\n", "status line"},
		{"SSH-2.0-OpenSSH\r\n\r\n", "status line"},
	} {
		if _, err := parseHead([]byte(c.head)); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: got %v, want an error about %s", c.head, err, c.err)
		}
	}
}

func TestHeadEnd(t *testing.T) {
	if n := headEnd([]byte("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody")); n != 25 {
		t.Errorf("got %d", n)
	}
	if n := headEnd([]byte("HTTP/1.1 200 OK\r\nA: b\r\n\r")); n != -1 {
		t.Errorf("got %d for an incomplete head", n)
	}
}
