// HTTP layer of go/goroutines: routing, request bodies, query parameters and
// the endpoints of SPEC.md. Every handler runs on the goroutine net/http
// started for its connection; nothing here spawns goroutines or uses a pool.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Limits from SPEC.md, the same in every runtime.
const (
	maxBodyBytes = 1 << 20
	maxMS        = 10_000
	maxN         = 100_000_000
	maxIter      = 1_000_000
)

const offloadSentence = "ignored: each request already runs on its own goroutine, " +
	"which the Go scheduler preempts, so Go needs no offload facility"

// router matches the path exactly and only allows GET. http.ServeMux is not
// used because the contract differs from its conventions: it redirects
// unclean paths ("//ping"), answers 404/405 in text/plain, and its
// "GET /x" patterns also serve HEAD, which SPEC answers with 405.
type router struct {
	routes map[string]http.HandlerFunc
}

func newRouter() *router {
	return &router{routes: map[string]http.HandlerFunc{
		"/ping":  handlePing,
		"/info":  handleInfo,
		"/cpu":   handleCPU,
		"/work":  handleWork,
		"/hash":  handleHash,
		"/sleep": handleSleep,
	}}
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// net/http accepts any HTTP/1.x (RFC 9110 says to treat 1.2 as 1.1);
	// SPEC accepts only 1.0 and 1.1.
	if r.ProtoMajor != 1 || r.ProtoMinor > 1 {
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusHTTPVersionNotSupported, "only HTTP/1.1 and HTTP/1.0 are supported")
		return
	}
	if !discardBody(w, r) {
		return
	}
	handler, ok := rt.routes[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, "no such path")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "only GET is allowed")
		return
	}
	handler(w, r)
}

// discardBody reads and drops the request body (no endpoint uses it) so
// that the next request on a keep-alive connection starts at the right
// byte; net/http alone would drain at most 256 KiB and then close. Larger
// bodies get 413 and the connection is closed. It reports whether the
// request may go on.
func discardBody(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == http.NoBody {
		return true
	}
	if r.ContentLength > maxBodyBytes {
		refuseBody(w)
		return false
	}
	// MaxBytesReader also bounds chunked bodies, whose size is unknown.
	_, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		refuseBody(w)
		return false
	case err != nil: // bad chunked framing or the client went away
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusBadRequest, "could not read the request body")
		return false
	}
	return true
}

func refuseBody(w http.ResponseWriter) {
	// The unread body is still on the wire: this connection cannot be reused.
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge,
		fmt.Sprintf("request body larger than %d bytes", maxBodyBytes))
}

func handlePing(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(pong)))
	send(w, pong)
}

var pong = []byte("pong")

type infoResponse struct {
	Target  string         `json:"target"`
	Runtime string         `json:"runtime"`
	Model   string         `json:"model"`
	Version string         `json:"version"`
	PID     int            `json:"pid"`
	Worker  *int           `json:"worker"` // always null: one process
	Knobs   map[string]int `json:"knobs"`
	Offload string         `json:"offload"`
}

func handleInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, infoResponse{
		Target:  target,
		Runtime: "go",
		Model:   "goroutines",
		Version: runtime.Version(),
		PID:     os.Getpid(),
		Knobs:   map[string]int{"GOMAXPROCS": runtime.GOMAXPROCS(0)},
		Offload: offloadSentence,
	})
}

type cpuResponse struct {
	MS      uint64 `json:"ms"`
	Offload bool   `json:"offload"`
}

func handleCPU(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	ms := p.number("ms", 0, maxMS)
	offload := p.offload()
	if p.err != nil {
		writeError(w, http.StatusBadRequest, p.err.Error())
		return
	}
	// offload=1 changes nothing: this goroutine is the right place to spin.
	spin(time.Duration(ms) * time.Millisecond)
	writeJSON(w, http.StatusOK, cpuResponse{MS: ms, Offload: offload})
}

type workResponse struct {
	N       uint64 `json:"n"`
	Digest  string `json:"digest"`
	Offload bool   `json:"offload"`
}

func handleWork(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	n := p.number("n", 0, maxN)
	offload := p.offload()
	if p.err != nil {
		writeError(w, http.StatusBadRequest, p.err.Error())
		return
	}
	digest := fmt.Sprintf("%08x", workHash(uint32(n)))
	writeJSON(w, http.StatusOK, workResponse{N: n, Digest: digest, Offload: offload})
}

type hashResponse struct {
	Iter    uint64 `json:"iter"`
	Digest  string `json:"digest"`
	Offload bool   `json:"offload"`
}

func handleHash(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	iter := p.number("iter", 1, maxIter)
	offload := p.offload()
	if p.err != nil {
		writeError(w, http.StatusBadRequest, p.err.Error())
		return
	}
	digest, err := passwordHash(int(iter))
	if err != nil { // only possible in FIPS 140-only mode (salt < 16 bytes)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, hashResponse{Iter: iter, Digest: digest, Offload: offload})
}

type sleepResponse struct {
	MS uint64 `json:"ms"`
}

func handleSleep(w http.ResponseWriter, r *http.Request) {
	p := newParams(r)
	ms := p.number("ms", 0, maxMS)
	if p.err != nil {
		writeError(w, http.StatusBadRequest, p.err.Error())
		return
	}
	// Blocking is fine: the scheduler parks this goroutine on a runtime timer
	// and its thread runs other goroutines meanwhile.
	time.Sleep(time.Duration(ms) * time.Millisecond)
	writeJSON(w, http.StatusOK, sleepResponse{MS: ms})
}

// params reads the numeric query parameters of SPEC section 4. It keeps the
// first error, so a handler reads all its parameters and checks once.
type params struct {
	q   url.Values
	err error
}

func newParams(r *http.Request) *params {
	return &params{q: parseQuery(r.URL.RawQuery)}
}

// parseQuery decodes an application/x-www-form-urlencoded query the way the
// WHATWG URL standard does: '+' is a space and an invalid escape ("%zz",
// "%3") is kept as it is, so such a value fails the digit rules. It differs
// from url.ParseQuery, which drops a pair that does not decode: "ms=5&ms=%zz"
// would read as ms=5, where SPEC sees ms given twice.
func parseQuery(raw string) url.Values {
	q := url.Values{}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		q.Add(unescape(name), unescape(value))
	}
	return q
}

func unescape(s string) string {
	if decoded, err := url.QueryUnescape(s); err == nil {
		return decoded
	}
	return s // an invalid escape: kept, and never a digit
}

// lookup returns the single value of name; giving it twice is an error.
func (p *params) lookup(name string) (string, bool) {
	values := p.q[name]
	switch {
	case p.err != nil || len(values) == 0:
		return "", false
	case len(values) > 1:
		p.err = fmt.Errorf("parameter %s given %d times", name, len(values))
		return "", false
	}
	return values[0], true
}

// number returns the required parameter name, an integer in [lo, hi].
func (p *params) number(name string, lo, hi uint64) uint64 {
	s, ok := p.lookup(name)
	if !ok {
		if p.err == nil {
			p.err = fmt.Errorf("missing parameter %s", name)
		}
		return 0
	}
	n, err := parseUint(s, lo, hi)
	if err != nil {
		p.err = fmt.Errorf("parameter %s %v", name, err)
	}
	return n
}

// offload returns the optional offload flag (0 or 1, absent means 0).
func (p *params) offload() bool {
	s, ok := p.lookup("offload")
	if !ok {
		return false
	}
	n, err := parseUint(s, 0, 1)
	if err != nil {
		p.err = fmt.Errorf("parameter offload %v", err)
	}
	return n == 1
}

// parseUint accepts one or more ASCII digits (leading zeros allowed) whose
// value lies in [lo, hi]. strconv.ParseUint in base 10 already refuses
// signs, spaces, underscores, prefixes and the empty string, and reports
// values too large for uint64 as ErrRange instead of overflowing.
func parseUint(s string, lo, hi uint64) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("must be between %d and %d", lo, hi)
	case err != nil:
		return 0, errors.New("must be ASCII digits only")
	case n < lo || n > hi:
		return 0, fmt.Errorf("must be between %d and %d", lo, hi)
	}
	return n, nil
}

// writeJSON writes v with an explicit Content-Length, so that no response
// of this server is ever chunked.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // the response types above always marshal
		panic(err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	send(w, body)
}

// send writes a response body. If the write fails, the client has gone:
// the handler aborts with http.ErrAbortHandler, which makes net/http drop
// this connection without logging anything, as httputil.ReverseProxy does;
// every other connection goes on as before.
func send(w http.ResponseWriter, body []byte) {
	if _, err := w.Write(body); err != nil {
		panic(http.ErrAbortHandler)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}
