"""Experiment sweep: throughput vs concurrency (closed loop), every target.

The ZeroHTTPd comparison of server models (fork, prefork, threads, a thread pool,
select, poll, epoll) extended to Node, Go and tokio: every target, /ping and
/sleep?ms=10, at rising numbers of keep-alive connections. measure.py measures,
analysis.py (with findings, figures, tables) reports.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.content import Concept, Headline, ScoreColumn, Section
from lab.experiments.framework import Context, Experiment, Point, Session
from lab.experiments.sweep import measure as measuring
from lab.targets import Target

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
    "The sweep drives each server with wrk (closed loop: each connection sends its next "
    "request when the previous answer arrives) at rising numbers of keep-alive "
    "connections, on /ping (pure overhead) and /sleep?ms=10 (a timer standing in for "
    "I/O, whose ceiling is connections / 10 ms). Like the ZeroHTTPd study the talk "
    "cites, look for where each model stops scaling or starts failing.",
))


class Sweep(Experiment):
    name = "sweep"
    title = "Throughput and latency vs concurrency"
    order = 10
    profiles = measuring.PROFILES
    concept = CONCEPT
    headline = Headline(("requests_per_s", "latency_p50", "latency_p99", "errors",
                         "requests_per_cpu_s"))
    story_rank = 2

    def sessions(self, spec: measuring.SweepSpec, targets: Sequence[Target]) -> list[Session]:
        return measuring.sessions(spec, targets)

    def measure(self, ctx: Context, point: Point) -> None:
        measuring.measure(ctx, point)

    def section(self, run, palette) -> Section:
        from lab.experiments.sweep import analysis

        return analysis.section(run, palette, Section(self.name, self.concept))

    def scorecard(self, run) -> list[ScoreColumn]:
        from lab.experiments.sweep import analysis

        return analysis.scorecard(run)

    def recompute(self, run):
        from lab.experiments.sweep.recompute import recompute

        return recompute(run)


EXPERIMENT = Sweep()
