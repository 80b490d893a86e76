"""Experiment sweep: throughput vs concurrency (closed loop), every target.

The ZeroHTTPd comparison of server models (fork, prefork, threads, a thread pool,
select, poll, epoll) extended to Node, Go and tokio: every target, /ping and
/sleep?ms=10, at rising numbers of keep-alive connections. measure.py measures,
analysis.py (with findings, figures, tables) reports.
"""

from __future__ import annotations

from analysis.content import Concept, Headline
from lab.experiments.framework import Experiment
from lab.experiments.sweep import measure as measuring

CONCEPT = Concept("Throughput and latency vs concurrency", (
    "A server can handle many connections concurrently without running them in parallel. "
    "The classic ways are one process per connection (fork), a pool of pre-forked "
    "processes, a thread per connection, a pool of pre-started threads, and I/O "
    "multiplexing: one thread asks the kernel which sockets are ready (select, poll, "
    "epoll) and only works on those: \"do work only when it is possible to proceed\".",
    "Node (libuv), Go (the netpoller under goroutines) and tokio (mio) all multiplex with "
    "epoll underneath; they differ in who runs the handlers: one event loop, an M:N "
    "scheduler of goroutines, or a pool of worker threads stealing tasks. select() "
    "cannot watch descriptors past FD_SETSIZE = 1024; fork and threads pay per "
    "connection in memory and scheduling.",
    "The sweep drives each server closed loop (wrk: each connection sends its next "
    "request when the previous answer arrives) at rising numbers of keep-alive "
    "connections, on /ping (pure overhead) and /sleep?ms=10 (a timer standing in for "
    "I/O, whose ceiling is connections / 10 ms), and counts only what was served: 2xx "
    "responses, and the connections that never got one. Like the ZeroHTTPd study the talk "
    "cites, look for where each model stops scaling, starves connections or fails.",
    "Then it offers load open loop (the pacer: on schedule, whatever the server does) at "
    "fractions of each target's own peak: latency stays flat while the server keeps up and "
    "turns up sharply as the offered load nears what it can serve (the hockey stick of "
    "queueing theory: waiting grows like 1 / (1 - utilisation)).",
))


class Sweep(Experiment):
    name = "sweep"
    title = "Throughput and latency vs concurrency"
    order = 10
    profiles = measuring.PROFILES
    concept = CONCEPT
    headline = Headline(("goodput_per_s", "connections_never_served", "setup_s",
                         "latency_mean", "latency_p99", "errors", "requests_per_cpu_s"))
    flags = {"starved": "some connections never got a response during the window: they "
                        "waited (e.g. in the accept queue for a free worker) while others were "
                        "served; the finding says how many",
             "pacer-behind": "the pacer's own p99 dispatch lag exceeded 1 ms: it fell behind "
                             "its schedule, so part of that point's latency is the "
                             "generator's"}
    story_rank = 2


EXPERIMENT = Sweep()
