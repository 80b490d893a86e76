package main

import (
	"bytes"
	"errors"
	"fmt"
)

// The pacer reads responses with a minimal HTTP/1.1 parser: a status line,
// header fields, and a body framed by Content-Length, which every lab server
// sends (runtimes/SPEC.md). Anything else (chunked bodies, interim 1xx
// responses, a head that does not parse, bytes nobody asked for) is an error
// of the request that was waiting, never a guess: a wrong count or a hang
// would be worse than a failed request.

const maxHead = 8192 // bytes of status line + header fields the pacer accepts

var (
	errHeadTooLarge   = fmt.Errorf("response head over %d bytes", maxHead)
	errNoLength       = errors.New("response without Content-Length (only Content-Length framing is supported)")
	errTransferCoding = errors.New("response with Transfer-Encoding (only Content-Length framing is supported)")
)

// head is what the pacer needs from a response head.
type head struct {
	status int
	length int64 // body bytes that follow the head
	close  bool  // the server closes the connection after this response
}

var crlf2 = []byte("\r\n\r\n")

// headEnd returns the length of the head (through the blank line) in b, or -1
// if b does not hold a whole head yet.
func headEnd(b []byte) int {
	if i := bytes.Index(b, crlf2); i >= 0 {
		return i + 4
	}
	return -1
}

// parseHead parses a complete response head, b[:headEnd(b)].
func parseHead(b []byte) (head, error) {
	var h head
	line, rest, _ := bytes.Cut(b, []byte("\r\n"))
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || (line[7] != '0' && line[7] != '1') ||
		line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return h, fmt.Errorf("malformed status line %q", clip(line))
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return h, fmt.Errorf("malformed status line %q", clip(line))
		}
		h.status = h.status*10 + int(d-'0')
	}
	http10 := line[7] == '0'
	keepAlive := false
	h.length = -1
	for len(rest) > 2 { // the head ends with the empty line's \r\n
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return h, fmt.Errorf("malformed header line %q", clip(line))
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := parseLength(value)
			if err != nil || (h.length >= 0 && n != h.length) {
				return h, fmt.Errorf("invalid Content-Length %q", clip(value))
			}
			h.length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return h, errTransferCoding
		case bytes.EqualFold(name, []byte("Connection")):
			for _, token := range bytes.Split(value, []byte(",")) {
				token = bytes.TrimSpace(token)
				h.close = h.close || bytes.EqualFold(token, []byte("close"))
				keepAlive = keepAlive || bytes.EqualFold(token, []byte("keep-alive"))
			}
		}
	}
	switch {
	case h.status < 200:
		return h, fmt.Errorf("unexpected interim response %d", h.status)
	case h.status == 204 || h.status == 304:
		h.length = 0
	case h.length < 0:
		return h, errNoLength
	}
	h.close = h.close || (http10 && !keepAlive)
	return h, nil
}

func parseLength(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 15 {
		return 0, errors.New("bad length")
	}
	var n int64
	for _, d := range v {
		if d < '0' || d > '9' {
			return 0, errors.New("bad length")
		}
		n = n*10 + int64(d-'0')
	}
	return n, nil
}

// clip keeps error messages (which end up in CSV records) short.
func clip(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}
