"""Experiment 1, sweep: throughput and latency vs concurrency (closed loop, wrk).

The ZeroHTTPd comparison of server models (fork, prefork, threads, a thread pool,
select, poll, epoll) extended to Node, Go and tokio: every target, /ping and
/sleep?ms=10, at rising numbers of keep-alive connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lab.experiments.framework import Context, Point, Session, interleave
from lab.loadgen import GENERATOR_BOUND_UTILISATION, load_utilisation, run_wrk
from lab.targets import Target

PING = "/ping"
SLEEP = "/sleep?ms=10"
# Where a model stops by design: select() cannot watch descriptors past 1024, and a
# process or thread per connection at 4,096 connections only measures memory pressure.
# Levels above a target's cap are not run (the cap itself is run and shows the failure).
CAPS = {"python/select": 1024, "python/fork": 1024, "python/threaded": 1024}
# Pre-forked and pre-threaded pools serve one keep-alive connection per worker; the
# sweep gives them a pool the size classic servers use (Apache prefork: 256 workers).
POOL_KNOBS = {"python/prefork": {"WORKERS": "128"}, "python/threadpool": {"WORKERS": "128"}}


@dataclass(frozen=True)
class SweepSpec:
    ping_levels: tuple[int, ...]
    sleep_levels: tuple[int, ...]
    duration_s: int          # wrk's own granularity is one second
    warmup_s: int            # a wrk run before the first level of each endpoint in a session
    repetitions: int
    caps: dict[str, int] = field(default_factory=lambda: dict(CAPS))
    knobs: dict[str, dict[str, str]] = field(default_factory=lambda: dict(POOL_KNOBS))

    def levels_for(self, target: Target, levels: tuple[int, ...]) -> list[int]:
        cap = self.caps.get(target.name)
        return [c for c in levels if cap is None or c <= cap]


PROFILES = {
    "quick": SweepSpec(ping_levels=(64,), sleep_levels=(64,), duration_s=1, warmup_s=0,
                       repetitions=1),
    "standard": SweepSpec(ping_levels=(1, 8, 64, 256, 1024, 4096), sleep_levels=(64, 1024),
                          duration_s=1, warmup_s=1, repetitions=3),
    "full": SweepSpec(ping_levels=(1, 8, 64, 256, 1024, 4096, 10000),
                      sleep_levels=(1, 64, 256, 1024, 4096), duration_s=5, warmup_s=2,
                      repetitions=5),
}


class Sweep:
    name = "sweep"
    title = "Throughput and latency vs concurrency"
    profiles = PROFILES

    def sessions(self, spec: SweepSpec, targets: Sequence[Target]) -> list[Session]:
        sessions = []
        for rep, target in interleave(targets, spec.repetitions):
            points = [Point.of(endpoint=PING, connections=c)
                      for c in spec.levels_for(target, spec.ping_levels)]
            points += [Point.of(endpoint=SLEEP, connections=c)
                       for c in spec.levels_for(target, spec.sleep_levels)]
            knobs = spec.knobs.get(target.name, {})
            variant = ",".join(f"{k}={v}" for k, v in knobs.items()) or "default"
            sessions.append(Session(target, variant, tuple(knobs.items()), rep, tuple(points)))
        return sessions

    def measure(self, ctx: Context, point: Point) -> None:
        spec: SweepSpec = ctx.spec
        endpoint, connections = point.as_dict()["endpoint"], point.as_dict()["connections"]
        url = ctx.url + endpoint
        if spec.warmup_s and _first_of_endpoint(ctx.session, point):
            run_wrk(ctx.backend, url, connections, spec.warmup_s)
        cpu_before = ctx.server.cpu_seconds()
        result, load = run_wrk(ctx.backend, url, connections, spec.duration_s)
        server_cpu = ctx.server.cpu_seconds() - cpu_before
        utilisation = load_utilisation(load, len(ctx.backend.cpus.load))
        flags = ["generator-bound"] if utilisation > GENERATOR_BOUND_UTILISATION else []
        if result.errors_total:
            flags.append("errors")
        if result.requests == 0:
            flags.append("no-responses")
        ctx.info["raw"] = ctx.raw(point, "wrk.txt", load.stdout)
        ctx.row(point, "requests_per_s", result.requests_per_s, "req/s", flags)
        ctx.row(point, "requests", result.requests, "requests", flags)
        # wrk's percentiles are synthetic (stats_correct); the closed-loop mean is Little's law.
        mean_ms = connections / result.requests_per_s * 1000 if result.requests else None
        ctx.row(point, "latency_mean", mean_ms, "ms", flags)
        ctx.row(point, "errors", result.errors_total, "errors", flags)
        for kind, count in result.errors.items():
            ctx.row(point, f"errors_{kind}", count, "errors", flags)
        ctx.row(point, "server_cpu_s", server_cpu, "s", flags)
        ctx.row(point, "load_cpu_s", load.cpu_seconds, "s", flags)
        ctx.row(point, "load_cpu_utilisation", utilisation, "ratio", flags)
        per_cpu = result.requests / server_cpu if server_cpu > 0 else None
        ctx.row(point, "requests_per_cpu_s", per_cpu, "req/CPU-s", flags)


def _first_of_endpoint(session: Session, point: Point) -> bool:
    endpoint = point.as_dict()["endpoint"]
    return next(p for p in session.points if p.as_dict()["endpoint"] == endpoint) == point


EXPERIMENT = Sweep()
