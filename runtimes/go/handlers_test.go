package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The routing and parameter rules of SPEC.md sections 3 and 4, checked
// against the router without a network.
func TestRouter(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		status         int
		body           string // expected substring
	}{
		{"GET", "/ping", 200, "pong"},
		{"GET", "/ping/", 404, "error"},
		{"GET", "/PING", 404, "error"},
		{"POST", "/nope", 404, "error"},
		{"POST", "/ping", 405, "error"},
		{"HEAD", "/ping", 405, ""},
		{"GET", "/work?n=10", 200, `"digest":"2f854072"`},
		{"GET", "/work?n=0010&unknown=x", 200, `"n":10`},
		{"GET", "/work?n=1&offload=1", 200, `"offload":true`},
		{"GET", "/hash?iter=2", 200, "4bedcef7"},
		{"GET", "/cpu?ms=0&offload=0", 200, `"offload":false`},
		{"GET", "/sleep?ms=0", 200, `"ms":0`},
		{"GET", "/cpu", 400, "missing"},
		{"GET", "/cpu?ms=", 400, "ms"},
		{"GET", "/cpu?ms=-1", 400, "ms"},
		{"GET", "/cpu?ms=%2B1", 400, "ms"},
		{"GET", "/cpu?ms=1.5", 400, "ms"},
		{"GET", "/cpu?ms=1e3", 400, "ms"},
		{"GET", "/cpu?ms=1_0", 400, "ms"},
		{"GET", "/cpu?ms=%201", 400, "ms"},
		{"GET", "/cpu?ms=10001", 400, "ms"},
		{"GET", "/cpu?ms=99999999999999999999999", 400, "ms"},
		{"GET", "/cpu?ms=1&ms=1", 400, "given 2 times"},
		{"GET", "/cpu?ms=1&offload=2", 400, "offload"},
		{"GET", "/cpu?ms=1&offload=1&offload=1", 400, "offload"},
		{"GET", "/hash?iter=0", 400, "iter"},
		{"GET", "/hash?iter=1000001", 400, "iter"},
		{"GET", "/work?n=100000001", 400, "parameter n "},
		// application/x-www-form-urlencoded: decoded first, then checked.
		{"GET", "/work?n=%31%30&offload=%31", 200, `"offload":true`},
		{"GET", "/work?%6E=2", 200, `"digest":"1076963a"`},
		{"GET", "/work?n=2&x=%zz&%zz=1&y=a+b%", 200, `"n":2`},
		{"GET", "/work?n=5+", 400, "parameter n "},
		{"GET", "/work?n=%zz", 400, "parameter n "},
		{"GET", "/work?n=%3", 400, "parameter n "},
		{"GET", "/work?n=5&n=%zz", 400, "given 2 times"},
		{"GET", "/work?n=5;x=1", 400, "parameter n "},
	} {
		req := httptest.NewRequest(tc.method, tc.target, nil)
		rec := httptest.NewRecorder()
		newRouter().ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.target, rec.Code, body, tc.status, tc.body)
		}
		if rec.Header().Get("Content-Type") == "" || rec.Header().Get("Content-Length") == "" {
			t.Errorf("%s %s: missing Content-Type or Content-Length", tc.method, tc.target)
		}
		if rec.Code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "GET" {
			t.Errorf("%s %s: 405 without Allow: GET", tc.method, tc.target)
		}
	}
}

// failingWriter is a ResponseWriter whose client has gone.
type failingWriter struct{ *httptest.ResponseRecorder }

func (*failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// A failed write aborts the handler with http.ErrAbortHandler: net/http then
// closes that connection and logs nothing.
func TestFailedWriteAbortsTheConnection(t *testing.T) {
	defer func() {
		if got := recover(); got != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", got)
		}
	}()
	w := &failingWriter{httptest.NewRecorder()}
	newRouter().ServeHTTP(w, httptest.NewRequest("GET", "/ping", nil))
	t.Fatal("the handler returned after a failed write")
}
