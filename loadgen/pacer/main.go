// Command pacer is the lab's open-loop HTTP load generator.
//
// It sends requests on a fixed schedule whatever the server does: one or more
// streams (name=path@rate) share one clock, and every request goes out at its
// intended time even when earlier ones have not been answered. Latency is
// measured from that intended time, so a server that stalls cannot hide the
// stall by slowing the generator down (no coordinated omission). It writes one
// CSV record per request and one JSON summary line. See README.md.
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
	"strconv"
	"strings"
	"syscall"
	"time"
)

const maxRequests = 20_000_000 // a typo in a rate should not exhaust memory

type streamFlags []stream

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

// parseStream parses name=path@rate[+phase], e.g. cpu=/cpu?ms=100@2+250ms.
func parseStream(v string) (stream, error) {
	bad := func(why string) (stream, error) {
		return stream{}, fmt.Errorf("stream %q: %s (want name=path@rate[+phase], e.g. ping=/ping@200 or cpu=/cpu?ms=100@2+250ms)", v, why)
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
	if !strings.HasPrefix(path, "/") || strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return bad("the path must start with / and be plain printable ASCII (percent-encode the rest)")
	}
	rateText, phaseText, hasPhase := strings.Cut(rateText, "+")
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
	return stream{Name: name, Path: path, Rate: rate, Phase: phase}, nil
}

func main() {
	var cfg config
	var streams streamFlags
	flag.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "base URL of the server; each stream's path is appended")
	flag.Var(&streams, "stream", "name=path@rate[+phase]: requests per second on path, first one at phase (repeatable)")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send; then wait at most -timeout for outstanding responses")
	flag.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "a request without a response this long after its intended time is a timeout")
	flag.IntVar(&cfg.Connections, "connections", 64, "maximum keep-alive connections (a request waits for a free one)")
	outPath := flag.String("out", "", "CSV file for the per-request records, or - for stdout (the summary then goes to stderr)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: pacer -stream name=path@rate [-stream ...] -out records.csv [options]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	cfg.Streams = streams
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
	res := run(ctx, cfg)
	interrupted := ctx.Err() != nil
	stop()

	if err := out.commit(cfg, res.Records); err != nil {
		fmt.Fprintln(os.Stderr, "pacer: writing records:", err)
		os.Exit(1)
	}
	line, _ := json.Marshal(summarize(cfg, res, interrupted))
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
	case len(cfg.Streams) == 0:
		return errors.New("at least one -stream name=path@rate is needed")
	case cfg.Duration <= 0 || cfg.Timeout <= 0:
		return errors.New("-duration and -timeout must be positive")
	case cfg.Connections < 1:
		return errors.New("-connections must be at least 1")
	case out == "":
		return errors.New("-out is needed: a CSV file name, or - for stdout")
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
