// Command pacer is the lab's HTTP load generator: open loop on a schedule, or
// closed loop.
//
// Open loop (-mode open, the default): one or more streams (name=path@rate)
// share one clock, each on its own connections, and every request goes out at
// its intended time even when earlier ones have not been answered. Latency is
// measured from that intended time, so a server that stalls cannot hide the
// stall by slowing the generator down (no coordinated omission).
//
// Closed loop (-mode closed): C connections each send the next request as
// soon as the previous answer has arrived, for a duration; the summary counts
// goodput (2xx only), set-up and connections that were never served.
//
// It writes one CSV record per request and one JSON summary line. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const maxRequests = 20_000_000 // a typo in a rate should not exhaust memory

type streamFlags []stream

// padFlags is -pad name=bytes, repeatable.
type padFlags map[string]int

func (p padFlags) String() string { return fmt.Sprint(map[string]int(p)) }

func (p padFlags) Set(v string) error {
	name, size, ok := strings.Cut(v, "=")
	n, err := strconv.Atoi(size)
	if !ok || err != nil || n < 1 || n > maxPad {
		return fmt.Errorf("-pad %q: want name=bytes, bytes from 1 to %d", v, maxPad)
	}
	p[name] = n
	return nil
}

// maxPad: the largest padded request head (the lab's servers refuse heads
// over 16 KiB with 431; bigger would test only that).
const maxPad = 64 << 10

func (s *streamFlags) String() string { return fmt.Sprint(*s) }

func (s *streamFlags) Set(v string) error {
	st, err := parseStream(v)
	if err != nil {
		return err
	}
	for _, o := range *s {
		if o.Name == st.Name {
			return fmt.Errorf("stream name %q used twice", st.Name)
		}
	}
	*s = append(*s, st)
	return nil
}

var streamName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// parseStream parses name=path@rate[+phase][:connections], e.g.
// cpu=/cpu?ms=100@2+250ms:2.
func parseStream(v string) (stream, error) {
	bad := func(why string) (stream, error) {
		return stream{}, fmt.Errorf("stream %q: %s (want name=path@[~]rate[+phase][:connections], e.g. ping=/ping@200 or cpu=/cpu?ms=100@~2+250ms:2; ~ means Poisson arrivals of that mean rate)", v, why)
	}
	name, rest, ok := strings.Cut(v, "=")
	if !ok || !streamName.MatchString(name) {
		return bad("the name must be letters, digits, '_', '.' or '-', followed by '='")
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return bad("missing @rate")
	}
	path, rateText := rest[:at], rest[at+1:]
	if err := checkPath(path); err != nil {
		return bad(err.Error())
	}
	rateText, connText, hasConns := strings.Cut(rateText, ":")
	conns := 0
	if hasConns {
		if n, err := strconv.Atoi(connText); err != nil || n < 1 {
			return bad("the connections after ':' must be a positive integer")
		} else {
			conns = n
		}
	}
	rateText, phaseText, hasPhase := strings.Cut(rateText, "+")
	rateText, poisson := strings.CutPrefix(rateText, "~")
	rate, err := strconv.ParseFloat(rateText, 64)
	if err != nil || !(rate > 0) || math.IsInf(rate, 0) {
		return bad("the rate must be a positive number of requests per second")
	}
	var phase time.Duration
	if hasPhase {
		if phase, err = time.ParseDuration(phaseText); err != nil || phase < 0 {
			return bad("the phase must be a non-negative duration such as 250ms")
		}
	}
	return stream{Name: name, Path: path, Rate: rate, Phase: phase, Connections: conns, Poisson: poisson}, nil
}

func checkPath(path string) error {
	if !strings.HasPrefix(path, "/") || strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return errors.New("the path must start with / and be plain printable ASCII (percent-encode the rest)")
	}
	return nil
}

// splitURL returns the path prefix and host:port of a checked base URL.
func splitURL(raw string) (prefix, host string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	host = u.Host
	if u.Port() == "" {
		host += ":80"
	}
	return strings.TrimSuffix(u.Path, "/"), host, nil
}

func main() {
	var cfg config
	var streams streamFlags
	flag.StringVar(&cfg.Mode, "mode", "open", "open (a schedule of -stream) or closed (-connections back to back on -path)")
	flag.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "base URL of the server; each stream's path is appended")
	flag.Var(&streams, "stream", "open loop: name=path@rate[+phase][:connections], requests per second on path, first one at phase, on its own connections (repeatable)")
	flag.StringVar(&cfg.Path, "path", "/ping", "closed loop: the request path")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "open: requests are scheduled in [0, duration), then outstanding ones get at most -timeout; closed: the measured window")
	flag.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "a request without a complete response this long after its intended time is a timeout")
	flag.IntVar(&cfg.Connections, "connections", 16, "open: connections of each stream that does not say its own; closed: connections in all")
	flag.StringVar(&cfg.Prime, "prime", "", "open: the path each connection requests once before the clock starts (default: its stream's path)")
	flag.DurationVar(&cfg.PrimeWait, "prime-wait", 2*time.Second, "open: how long priming may take; connections not answered by then are closed and dial again when used")
	flag.IntVar(&cfg.Idle, "idle", 0, "open: idle connections opened before the clock, each answered once (the -prime path, default /ping), then silent; the summary says how many are still open at the end")
	flag.DurationVar(&cfg.IdleWait, "idle-wait", 10*time.Second, "open: how long setting up the idle connections may take")
	flag.IntVar(&cfg.Slow, "slow", 0, "open: slowloris clients, each sending a request head one byte every -slow-interval and never finishing it; one the server closes dials again")
	flag.DurationVar(&cfg.SlowInterval, "slow-interval", 100*time.Millisecond, "open: time between two bytes of a slow client")
	cfg.Pad = padFlags{}
	flag.Var(padFlags(cfg.Pad), "pad", "open: name=bytes, pad the request heads of stream name to bytes with an X-Pad header (repeatable)")
	flag.DurationVar(&cfg.Allowance, "setup-allowance", 0, "closed: if some connection is never answered, the steady window starts here (default: duration/4)")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "open: the seed of Poisson streams (@~rate): the same seed gives the same arrival times")
	outPath := flag.String("out", "", "CSV file for the per-request records, or - for stdout (the summary then goes to stderr); needed in open mode")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: pacer -stream name=path@rate [-stream ...] -out records.csv [options]\n"+
			"       pacer -mode closed -connections C -path /ping -duration 10s [-out records.csv]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	cfg.Streams = streams
	cfg.Records = *outPath != ""
	if cfg.Allowance == 0 {
		cfg.Allowance = cfg.Duration / 4
	}
	if err := validate(cfg, *outPath); err != nil {
		fmt.Fprintln(os.Stderr, "pacer:", err)
		os.Exit(2)
	}
	cfg.URL = strings.TrimSuffix(cfg.URL, "/")

	out, err := openOutput(*outPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pacer: cannot write the records:", err)
		os.Exit(1)
	}
	summaryOut := io.Writer(os.Stdout)
	if *outPath == "-" {
		summaryOut = os.Stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var summary any
	var records []record
	names := []string{"closed"}
	if cfg.Mode == "open" {
		var res *openResult
		if res, err = runOpen(ctx, cfg); err == nil {
			summary, records = summarizeOpen(cfg, res, ctx.Err() != nil), res.Records
			names = names[:0]
			for _, s := range cfg.Streams {
				names = append(names, s.Name)
			}
		}
	} else {
		var res *closedResult
		if res, err = runClosed(ctx, cfg); err == nil {
			summary, records = summarizeClosed(cfg, res, ctx.Err() != nil), res.Records
		}
	}
	interrupted := ctx.Err() != nil
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pacer:", err)
		os.Exit(1)
	}
	if err := out.commit(names, records); err != nil {
		fmt.Fprintln(os.Stderr, "pacer: writing records:", err)
		os.Exit(1)
	}
	line, _ := json.Marshal(summary)
	fmt.Fprintf(summaryOut, "%s\n", line)
	if interrupted {
		fmt.Fprintln(os.Stderr, "pacer: interrupted; the records cover the requests sent so far")
		os.Exit(1)
	}
}

func validate(cfg config, out string) error {
	u, err := url.Parse(cfg.URL)
	switch {
	case err != nil || u.Scheme != "http" || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("-url %q: want http://host:port (plain HTTP/1.1, no query)", cfg.URL)
	case cfg.Duration <= 0 || cfg.Timeout <= 0 || cfg.PrimeWait <= 0:
		return errors.New("-duration, -timeout and -prime-wait must be positive")
	case cfg.Connections < 1:
		return errors.New("-connections must be at least 1")
	case cfg.Mode == "closed":
		if len(cfg.Streams) > 0 {
			return errors.New("-stream is for -mode open; the closed loop takes -path and -connections")
		}
		if cfg.Allowance < 0 || cfg.Allowance >= cfg.Duration {
			return errors.New("-setup-allowance must be within -duration")
		}
		return checkPath(cfg.Path)
	case cfg.Mode != "open":
		return fmt.Errorf("-mode %q: want open or closed", cfg.Mode)
	case len(cfg.Streams) == 0:
		return errors.New("at least one -stream name=path@rate is needed")
	case out == "":
		return errors.New("-out is needed: a CSV file name, or - for stdout")
	case cfg.Idle < 0 || cfg.Slow < 0:
		return errors.New("-idle and -slow must not be negative")
	case cfg.IdleWait <= 0 || cfg.SlowInterval <= 0:
		return errors.New("-idle-wait and -slow-interval must be positive")
	case cfg.Prime != "":
		if err := checkPath(cfg.Prime); err != nil {
			return fmt.Errorf("-prime: %w", err)
		}
	}
	for name := range cfg.Pad {
		if !slices.ContainsFunc(cfg.Streams, func(s stream) bool { return s.Name == name }) {
			return fmt.Errorf("-pad %s: no stream has that name", name)
		}
	}
	total := 0.0
	for _, s := range cfg.Streams {
		total += s.Rate * cfg.Duration.Seconds()
	}
	if total > maxRequests {
		return fmt.Errorf("%.0f requests scheduled; more than %d is surely a mistake", total, maxRequests)
	}
	return nil
}
