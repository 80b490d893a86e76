"""Sweep measurement: wrk at rising numbers of keep-alive connections, per target.

Levels above a target's connection cap (runtime.toml max_connections, e.g. select's
FD_SETSIZE) are not run; the cap itself is, and shows the failure. A process or thread
per connection stops at PER_CONNECTION_CAP. Pools (runtime.toml pool_knob) get
POOL_SIZE workers, the size classic servers use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lab.experiments.framework import Context, Point, Session, interleave
from lab.loadgen import GENERATOR_BOUND_UTILISATION, load_utilisation, run_wrk
from lab.targets import Target

PING = "/ping"
SLEEP = "/sleep?ms=10"
# Pre-forked and pre-threaded pools serve one keep-alive connection per worker; the
# sweep gives them a pool the size classic servers use (Apache prefork: 256 workers).
POOL_SIZE = 128
# A process or thread per connection past this many connections measures memory
# pressure, not the model.
PER_CONNECTION_CAP = 1024
PER_CONNECTION_KINDS = ("process-per-connection", "thread-per-connection")


@dataclass(frozen=True)
class SweepSpec:
    ping_levels: tuple[int, ...]
    sleep_levels: tuple[int, ...]
    duration_s: int          # wrk's own granularity is one second
    warmup_s: int            # a wrk run before the first level of each endpoint in a session
    repetitions: int

    def levels_for(self, target: Target, levels: tuple[int, ...]) -> list[int]:
        caps = [target.max_connections() or levels[-1]]
        if target.kind in PER_CONNECTION_KINDS:
            caps.append(PER_CONNECTION_CAP)
        return [c for c in levels if c <= min(caps)]


PROFILES = {
    "quick": SweepSpec(ping_levels=(64,), sleep_levels=(64,), duration_s=1, warmup_s=0,
                       repetitions=1),
    "standard": SweepSpec(ping_levels=(1, 8, 64, 256, 1024, 4096), sleep_levels=(64, 1024),
                          duration_s=1, warmup_s=1, repetitions=3),
    "full": SweepSpec(ping_levels=(1, 8, 64, 256, 1024, 4096, 10000),
                      sleep_levels=(1, 64, 256, 1024, 4096), duration_s=5, warmup_s=2,
                      repetitions=5),
}


def knobs_for(target: Target) -> dict[str, str]:
    return {target.pool_knob: str(POOL_SIZE)} if target.pool_knob else {}


def sessions(spec: SweepSpec, targets: Sequence[Target]) -> list[Session]:
    found = []
    for rep, target in interleave(targets, spec.repetitions):
        points = [Point.of(endpoint=PING, connections=c)
                  for c in spec.levels_for(target, spec.ping_levels)]
        points += [Point.of(endpoint=SLEEP, connections=c)
                   for c in spec.levels_for(target, spec.sleep_levels)]
        for extra in [{}, *target.variants_for("sweep")]:
            found.append(Session.of(target, {**knobs_for(target), **extra}, rep, points))
    return found


def measure(ctx: Context, point: Point) -> None:
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
