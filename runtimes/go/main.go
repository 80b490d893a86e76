// Command lab-go is the go/goroutines target of the Async Runtime Lab
// (runtimes/SPEC.md is its contract).
//
// What it teaches: net/http serves every connection on its own goroutine.
// The Go scheduler multiplexes goroutines M:N onto GOMAXPROCS OS threads.
// A goroutine that waits for the network or a timer is parked by the
// netpoller and holds no thread; a goroutine that burns the CPU (/cpu) is
// preempted by the runtime (asynchronously, since Go 1.14), so the other
// requests keep being served and Go needs no "offload" facility at all.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const (
	target = "go/goroutines"

	// net/http reads up to MaxHeaderBytes+4096 bytes (bufio slop) before it
	// answers 431, so heads of 8 KiB pass and heads of 12 KiB or more are
	// refused: within SPEC's 8,192 (must pass) and 16,384 (must fail).
	maxHeaderBytes = 8 << 10

	shutdownGrace = 1500 * time.Millisecond
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", target, err)
		os.Exit(1)
	}
}

func run() error {
	if err := checkGOMAXPROCS(); err != nil {
		return err
	}

	addr := net.JoinHostPort(getenv("HOST", "127.0.0.1"), getenv("PORT", "8080"))
	ln, err := net.Listen("tcp", addr) // backlog: the kernel's somaxconn
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:        newRouter(),
		MaxHeaderBytes: maxHeaderBytes,
		// Slow-loris protection for the head only. There is deliberately no
		// ReadTimeout/WriteTimeout: /cpu and /sleep legitimately take up to
		// 10 s, longer under the overload the lab creates, and a write
		// timeout would silently drop those responses.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second, // SPEC: keep idle connections >= 30 s
		// "OPTIONS *" must reach the router (404) instead of net/http's
		// built-in 200 answer.
		DisableGeneralOptionsHandler: true,
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "%s listening on http://%s (pid %d)\n", target, ln.Addr(), os.Getpid())

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	stop() // a second signal now kills the process the default way

	// Shutdown closes the listener and idle connections at once, then waits
	// for in-flight requests; connections close after their response.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Grace period over: drop what is still running. Still a clean exit.
		srv.Close()
		fmt.Fprintf(os.Stderr, "%s: grace period over, closed the remaining connections\n", target)
	}
	return nil
}

// checkGOMAXPROCS rejects a GOMAXPROCS that the runtime would silently
// ignore (it falls back to the CPU count). Valid values were already
// applied by the runtime at start-up; /info reports runtime.GOMAXPROCS(0).
func checkGOMAXPROCS() error {
	s := os.Getenv("GOMAXPROCS")
	if s == "" {
		return nil // unset: the runtime uses the CPUs the process may run on
	}
	if _, err := parseUint(s, 1, 1<<31-1); err != nil {
		return fmt.Errorf("invalid GOMAXPROCS=%q: %v", s, err)
	}
	return nil
}

func getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
