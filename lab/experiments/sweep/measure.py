"""Sweep measurement: closed-loop goodput at rising numbers of keep-alive connections,
then latency vs offered load (open loop) at fractions of the peak just measured.

Closed loop (`lab.loadgen.run_closed_loop`: wrk, or the pacer's closed mode where wrk
is missing): goodput counts 2xx only, over a steady window that starts once every
connection has had its first response (set-up is its own metric), and how many
connections were never served. Levels run in a shuffled order (seeded per target and
repetition, so a run can be repeated), not always climbing. Open loop (the pacer, on
`LOAD_CONNECTIONS` connections): /ping at fractions of the goodput the same session
measured at that many connections; percentiles from the intended send time, failures
infinitely slow; a point where the pacer itself fell behind is flagged.
Levels above a target's connection cap (runtime.toml max_connections, e.g. select's
FD_SETSIZE) are not run; the cap itself is. A process or thread per connection stops at
PER_CONNECTION_CAP. Pools (runtime.toml pool_knob) get POOL_SIZE workers.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from lab.errors import LabError
from lab.experiments.framework import Context, Point, Session, interleave
from lab.loadgen import (
    ClosedLoopResult,
    PacerRecord,
    Stream,
    latency_percentiles,
    run_closed_loop,
    run_pacer,
)
from lab.netstat import listen_drops, shares_our_namespace
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
# The open loop runs on this many connections, at fractions of the closed-loop goodput
# measured with as many.
LOAD_CONNECTIONS = 64
# The pacer fell behind its own schedule: its p99 dispatch lag over this. (Requests that
# waited for a busy connection are the server's doing, and count in the latency.)
PACER_LAG_MS = 1.0
OPEN_PERCENTILES = {"p50": 50, "p90": 90, "p99": 99, "p99_9": 99.9}


@dataclass(frozen=True)
class SweepSpec:
    ping_levels: tuple[int, ...]
    sleep_levels: tuple[int, ...]
    duration_s: int              # closed loop, whole seconds (wrk's granularity)
    long_duration_s: int         # from long_level connections on: set-up takes longer
    warmup_s: int                # closed loop on /ping before a session's first /ping point
    repetitions: int
    loads: tuple[float, ...]     # open loop: fractions of the measured peak
    load_duration_s: float
    load_repetitions: int        # the open loop runs in the first this many repetitions
    long_level: int = 4096

    def levels_for(self, target: Target, levels: tuple[int, ...]) -> list[int]:
        caps = [target.max_connections() or max(levels, default=0)]
        if target.kind in PER_CONNECTION_KINDS:
            caps.append(PER_CONNECTION_CAP)
        return [c for c in levels if c <= min(caps)]

    def duration_for(self, connections: int) -> int:
        return self.long_duration_s if connections >= self.long_level else self.duration_s


PROFILES = {
    "quick": SweepSpec(ping_levels=(LOAD_CONNECTIONS,), sleep_levels=(), duration_s=1,
                       long_duration_s=1, warmup_s=0, repetitions=1, loads=(0.5, 1.0),
                       load_duration_s=0.5, load_repetitions=1),
    "standard": SweepSpec(ping_levels=(1, LOAD_CONNECTIONS, 1024, 4096),
                          sleep_levels=(1024,), duration_s=1, long_duration_s=2,
                          warmup_s=1, repetitions=2, loads=(0.5, 0.8, 1.0, 1.1),
                          load_duration_s=1.0, load_repetitions=1),
    "full": SweepSpec(ping_levels=(1, 8, LOAD_CONNECTIONS, 256, 1024, 4096, 10000),
                      sleep_levels=(1, 64, 256, 1024, 4096), duration_s=3, long_duration_s=5,
                      warmup_s=2, repetitions=5, loads=(0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1),
                      load_duration_s=3.0, load_repetitions=3),
}


def knobs_for(target: Target) -> dict[str, str]:
    return {target.pool_knob: str(POOL_SIZE)} if target.pool_knob else {}


def _shuffled(points: list[Point], target: Target, rep: int) -> list[Point]:
    """A fixed, per target and repetition, permutation: levels do not always climb."""
    rng = random.Random(zlib.crc32(f"{target.name}/{rep}".encode()))
    return rng.sample(points, len(points))


def sessions(spec: SweepSpec, targets: Sequence[Target]) -> list[Session]:
    found = []
    for rep, target in interleave(targets, spec.repetitions):
        closed = [Point.of(mode="closed", endpoint=PING, connections=c)
                  for c in spec.levels_for(target, spec.ping_levels)]
        closed += [Point.of(mode="closed", endpoint=SLEEP, connections=c)
                   for c in spec.levels_for(target, spec.sleep_levels)]
        opened = []
        if rep < spec.load_repetitions and LOAD_CONNECTIONS in spec.levels_for(
                target, spec.ping_levels):
            opened = [Point.of(mode="open", endpoint=PING, connections=LOAD_CONNECTIONS,
                               load=share) for share in spec.loads]
        points = _shuffled(closed, target, rep) + _shuffled(opened, target, rep)
        for extra in [{}, *target.variants_for("sweep")]:
            found.append(Session.of(target, {**knobs_for(target), **extra}, rep, points))
    return found


def measure(ctx: Context, point: Point) -> None:
    if point.as_dict()["mode"] == "open":
        measure_open(ctx, point)
    else:
        measure_closed(ctx, point)


def _first_closed_ping(session: Session, point: Point) -> bool:
    return next(p for p in session.points if p.as_dict()["endpoint"] == PING) == point


# What each kind of point records, derived from the load generator's result alone
# (recompute.py derives them again from the raw files, with these same functions).
CLOSED_UNITS = {"goodput_per_s": "req/s", "goodput_window_per_s": "req/s", "ok": "responses",
                "non_2xx": "responses", "errors": "requests",
                "connections_never_served": "connections", "accept_queue": "connections",
                "setup_s": "s", "setup_resolution_s": "s", "latency_mean": "ms"}
OPEN_UNITS = {"goodput_per_s": "req/s", "errors": "requests",
              **{f"latency_{name}": "ms" for name in OPEN_PERCENTILES}}


def closed_values(result: ClosedLoopResult, connections: int) -> dict[str, float | None]:
    """Goodput over the steady window (the whole window where there is none), what was
    never served, set-up, and the mean latency by Little's law: every connection always
    has one request in flight, so the mean time from send to answer is served
    connections / goodput. Where the samples saw the server's listener, the connections
    still waiting in its accept queue at the end (older runs' records lack it)."""
    steady = result.steady_goodput_per_s
    goodput = steady if steady is not None else result.goodput_per_s
    served = connections - result.never_served
    queued = ({} if result.accept_queue is None
              else {"accept_queue": result.accept_queue})
    return {"goodput_per_s": goodput, "goodput_window_per_s": result.goodput_per_s,
            "ok": result.ok, "non_2xx": result.non_2xx, "errors": result.errors_total,
            **{f"errors_{kind}": count for kind, count in result.errors.items()},
            "connections_never_served": result.never_served, **queued,
            "setup_s": result.setup_s, "setup_resolution_s": result.resolution_s,
            "latency_mean": served / goodput * 1000 if goodput else None}


def open_values(records: list[PacerRecord], duration_s: float) -> dict[str, float]:
    """Goodput (2xx answered within the window), failures, and latency percentiles from the
    intended send time, a failure counting as infinitely slow."""
    ok = [r for r in records if r.ok]
    in_window = sum(1 for r in ok if r.done_ns <= duration_s * 1e9)
    measured = latency_percentiles(records, tuple(OPEN_PERCENTILES.values()))
    return {"goodput_per_s": in_window / duration_s, "errors": len(records) - len(ok),
            **{f"latency_{name}": measured[q] for name, q in OPEN_PERCENTILES.items()}}


def measure_closed(ctx: Context, point: Point) -> None:
    spec: SweepSpec = ctx.spec
    endpoint, connections = point.as_dict()["endpoint"], point.as_dict()["connections"]
    url = ctx.url + endpoint
    if spec.warmup_s and _first_closed_ping(ctx.session, point):  # JITs and caches warm up
        run_closed_loop(ctx.backend, url, LOAD_CONNECTIONS, spec.warmup_s)
    cpu_before = ctx.server.cpu_seconds()
    counted = shares_our_namespace(ctx.backend)
    drops_before = listen_drops() if counted else None
    result, _ = run_closed_loop(ctx.backend, url, connections, spec.duration_for(connections))
    server_cpu = ctx.server.cpu_seconds() - cpu_before
    drops_after = listen_drops() if counted else None
    # Whether the generator set the pace is the framework's to say (generator-bound).
    flags = ["errors"] if result.errors_total or result.non_2xx else []
    if result.ok == 0:
        flags.append("no-responses")
    if result.never_served:
        flags.append("starved")
    ctx.info.update(raw=ctx.raw(point, f"{result.tool}.txt", result.raw), tool=result.tool)
    for metric, value in closed_values(result, connections).items():
        ctx.row(point, metric, value, CLOSED_UNITS.get(metric, "requests"), flags)
    # Connections the kernel dropped because the server's accept queue was full: what
    # explains connections never served by a server that is not a pool.
    drops = None if drops_before is None or drops_after is None else drops_after - drops_before
    ctx.row(point, "listen_drops", drops, "connections", flags)
    ctx.row(point, "server_cpu_s", server_cpu, "s", flags)
    ctx.row(point, "requests_per_cpu_s", result.ok / server_cpu if server_cpu > 0 else None,
            "req/CPU-s", flags)


def peak_goodput(ctx: Context) -> float:
    """This session's closed-loop /ping goodput at LOAD_CONNECTIONS connections."""
    found = [r["value"] for r in ctx.earlier_rows()
             if r.get("mode") == "closed" and r.get("endpoint") == PING
             and r.get("connections") == LOAD_CONNECTIONS and r["metric"] == "goodput_per_s"]
    if not found or not found[0]:
        raise LabError(f"no closed-loop goodput at {LOAD_CONNECTIONS} connections was measured "
                       "in this session, so the offered load has no reference")
    return float(found[0])


def measure_open(ctx: Context, point: Point) -> None:
    spec: SweepSpec = ctx.spec
    peak = peak_goodput(ctx)
    rate = float(point.as_dict()["load"]) * peak
    cpu_before = ctx.server.cpu_seconds()
    result, load = run_pacer(ctx.backend, ctx.url,
                             [Stream("ping", PING, rate, connections=LOAD_CONNECTIONS)],
                             spec.load_duration_s, timeout_s=5, prime=PING)
    server_cpu = ctx.server.cpu_seconds() - cpu_before
    values = open_values(result.records, spec.load_duration_s)
    flags = ["errors"] if values["errors"] else []
    if result.p99_dispatch_lag_ms > PACER_LAG_MS:
        flags.append("pacer-behind")
    ctx.info["raw"] = ctx.raw(point, "pacer.csv.gz", load.stdout)
    ctx.info["pacer_summary"] = result.summary
    for metric, value, unit in (("peak_per_s", peak, "req/s"), ("offered_per_s", rate, "req/s"),
                                ("achieved", result.achieved, "ratio")):
        ctx.row(point, metric, value, unit, flags)
    for metric, value in values.items():
        ctx.row(point, metric, value, OPEN_UNITS[metric], flags)
    ctx.row(point, "p99_dispatch_lag_ms", result.p99_dispatch_lag_ms, "ms", flags)
    ctx.row(point, "server_cpu_s", server_cpu, "s", flags)
