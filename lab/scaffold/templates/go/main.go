// @NAME@/goroutines: a skeleton of a lab server (runtimes/SPEC.md) on net/http.
//
// It answers GET /ping and 404s everything else. TODO, until `uv run invoke lab.verify
// --target @NAME@` passes: /info, /cpu, /work, /hash, /sleep, offload=1, parameter
// checks, JSON errors everywhere, the limits (431, 413) and every rule of SPEC.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func env(name, fallback string) string {
	if value, ok := os.LookupEnv(name); ok {
		return value
	}
	return fallback
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", "4")
		_, _ = w.Write([]byte("pong"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body := `{"error": "not found"}`
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(body))
	})
	address := net.JoinHostPort(env("HOST", "127.0.0.1"), env("PORT", "8080"))
	server := &http.Server{Addr: address, Handler: mux}
	listener, err := net.Listen("tcp", address)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "@NAME@/goroutines listening on http://%s (pid %d)\n", address,
		os.Getpid())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		// Stop accepting, let in-flight requests finish, within SPEC's 2 s.
		shutdown, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
