"""Readiness measurement: one pacer run per point, the server sampled meanwhile.

- idle: the pacer opens N idle keep-alive connections (`-idle`: each answered once, then
  silent), then sends /ping on a few connections of its own on a fixed schedule. Per point:
  /ping latency from intended send time (a failure counts as infinitely slow), the server's
  CPU per /ping over the streams' window, its memory and descriptors while it holds the N
  connections, how many of them were still open at the end, both sides' descriptor limits.
  A level is not run, and recorded as capped, when it needs more descriptors than the
  server may open, or when the memory the levels before it project for it passes
  MEMORY_BUDGET.
- slow: M slowloris clients (`-slow`) beside the same /ping stream.
- large: requests of LARGE_HEAD bytes, over one read of the reactors, with their /info
  counters before and after: waits, events, reads and empty reads per request sent (the
  two /info requests add under 1 % at 100 requests, 3 % at quick's 30).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from lab.errors import LabError
from lab.experiments.framework import Context, Point, fetch_info
from lab.experiments.readiness.sampler import Sampler
from lab.experiments.readiness.spec import LARGE_HEAD, ReadinessSpec
from lab.loadgen import (
    Background,
    PacerResult,
    Stream,
    closed_argv,
    latency_percentiles,
    run_pacer,
)
from lab.probe import ping

# Half the docker backend's server memory limit (4 GB): a level whose memory, projected from
# the two levels before it, would pass this is not run (a process per connection at
# 1.5 MB each reaches it near 1,400 connections).
MEMORY_BUDGET = 2 * 1024**3
DESCRIPTOR_SLACK = 64        # the server's own descriptors: listener, pipes, epoll, logs
LATE_DISPATCH_MS = 5.0       # a pacer this late at p99 did not keep its own schedule
IDLE_WAIT_S = 20.0           # setting up 10,000 connections takes 1-3 s; a fork each, more
SETTLE_S = 60.0              # closing them, as long
COUNTERS = ("waits", "events", "reads", "eagain")
# Per session measured in this process: (idle connections, memory) of the levels so far,
# for the projection; a session is in it once warmed up.
_held: dict[str, list[tuple[int, int]]] = {}


@dataclass
class PacerRun:
    result: PacerResult
    rows: list[tuple[str, str, float | None, str]]   # (stream, metric, value, unit)
    flags: list[str]


def _session(ctx: Context) -> str:
    return f"{ctx.run.run_id}/{ctx.session.key}"


def measure(ctx: Context, point: Point) -> None:
    if _session(ctx) not in _held:
        _warm_up(ctx)
        _held[_session(ctx)] = []
    part = point.as_dict()["part"]
    {"idle": _idle, "slow": _slow, "large": _large}[part](ctx, point)


def _warm_up(ctx: Context) -> None:
    """A short closed loop on /ping, so that a JIT (the JVM's, V8's) has compiled the fast
    path before the first point measures its CPU; then wait until the server's descriptors
    hold still (a prefork server answers /ping while it is still forking its workers), the
    baseline that _settle() comes back to."""
    spec: ReadinessSpec = ctx.spec
    argv = closed_argv(ctx.backend, f"{ctx.url}/ping", spec.ping_connections, spec.warmup_s,
                       spec.timeout_s)
    run = ctx.backend.run_load(argv, timeout=spec.warmup_s + spec.timeout_s + 30)
    if run.returncode != 0:
        raise LabError(f"the warm-up exited with status {run.returncode}",
                       detail=(run.stderr or run.stdout)[-2000:])
    deadline = time.monotonic() + SETTLE_S
    last = ctx.server.descriptors()
    while last is not None and time.monotonic() < deadline:
        time.sleep(0.2)
        last, previous = ctx.server.descriptors(), last
        if last == previous:
            return


def _ping(spec: ReadinessSpec) -> Stream:
    return Stream("ping", "/ping", spec.ping_rate, connections=spec.ping_connections)


def _idle(ctx: Context, point: Point) -> None:
    spec: ReadinessSpec = ctx.spec
    n = int(point.as_dict()["idle"])
    held = _held[_session(ctx)]
    limit = ctx.server.descriptor_limit()
    needed = n + spec.ping_connections + DESCRIPTOR_SLACK
    if limit is not None and needed > limit:
        ctx.row(point, "capped_descriptors", needed, "descriptors", ["capped"], stream="all")
        return
    projected = _projection(held, n)
    if projected is not None and projected > MEMORY_BUDGET:
        ctx.row(point, "capped_memory", projected, "bytes", ["capped"], stream="all")
        return
    run = _run(ctx, point, [_ping(spec)], spec.stream_s, Background(
        idle=n, idle_wait_s=IDLE_WAIT_S, prime_wait_s=spec.prime_wait_s))
    idle = run.result.summary.get("idle") or {"requested": 0, "opened": 0, "primed": 0,
                                               "open_at_end": 0, "closed_by_server": 0,
                                               "setup_ns": 0}
    flags = [*run.flags, *(["idle-dropped"] if idle["open_at_end"] < n else [])]
    for name in ("requested", "opened", "primed", "open_at_end", "closed_by_server"):
        run.rows.append(("all", f"idle_{name}", idle[name], "connections"))
    run.rows.append(("all", "idle_setup_s", idle["setup_ns"] / 1e9, "s"))
    run.rows.append(("all", "server_nofile", limit, "descriptors"))
    memory = next((v for s, m, v, _ in run.rows if m == "memory"), None)
    if memory is not None:
        held.append((n, int(memory)))
    _write(ctx, point, run.rows, flags)


def _projection(held: list[tuple[int, int]], n: int) -> float | None:
    """Memory at n idle connections, on the line through the last two levels measured."""
    if len(held) < 2:
        return None
    (n1, m1), (n2, m2) = held[-2:]
    return m2 + (m2 - m1) / (n2 - n1) * (n - n2) if n2 > n1 else None


def _slow(ctx: Context, point: Point) -> None:
    spec: ReadinessSpec = ctx.spec
    run = _run(ctx, point, [_ping(spec)], spec.slow_s, Background(
        slow=int(point.as_dict()["slow"]), slow_interval_s=spec.slow_interval_s,
        prime_wait_s=spec.prime_wait_s))
    slow = run.result.summary.get("slow") or {}
    for name in ("connected", "connects", "connect_errors", "closed_by_server", "open_at_end",
                 "bytes_sent"):
        run.rows.append(("slow", f"slow_{name}", slow.get(name), "connections"
                         if name != "bytes_sent" else "bytes"))
    for status, count in sorted((slow.get("responses") or {}).items()):
        run.rows.append(("slow", f"slow_status_{status}", count, "responses"))
    _write(ctx, point, run.rows, run.flags)


def _large(ctx: Context, point: Point) -> None:
    spec: ReadinessSpec = ctx.spec
    stream = Stream("large", "/ping", spec.large_rate, connections=spec.large_connections)
    run = _run(ctx, point, [stream], spec.large_s, Background(
        pad=(("large", LARGE_HEAD),), prime_wait_s=spec.prime_wait_s))
    _write(ctx, point, run.rows, run.flags)


def _run(ctx: Context, point: Point, streams: list[Stream], duration: float,
         background: Background) -> PacerRun:
    """The pacer with the server sampled meanwhile; rows every part shares."""
    spec: ReadinessSpec = ctx.spec
    counted = "counters" in ctx.server_info
    before = fetch_info(ctx.server).get("counters") if counted else None
    descriptors = ctx.server.descriptors()
    with Sampler(ctx.server) as sampler:
        result, load = run_pacer(ctx.backend, ctx.url, streams, duration,
                                 connections=spec.ping_connections, timeout_s=spec.timeout_s,
                                 background=background)
    closing = None
    if point != ctx.session.points[-1]:  # after the last, the server is stopped instead
        closing = _settle(ctx, descriptors)
    after = fetch_info(ctx.server).get("counters") if counted else None
    summary = result.summary
    start = summary["start_unix_ns"] / 1e9
    window = sampler.window(start, start + duration,
                            held=(start - summary["prime_ns"] / 1e9,
                                  start + summary["wall_ns"] / 1e9))
    ctx.info.update(raw=ctx.raw(point, "pacer.csv", load.stdout), pacer_summary=summary,
                    sampler_error=sampler.error)
    # Whether the generator set the pace is the framework's to say (generator-bound).
    flags = ["late-dispatch"] if result.p99_dispatch_lag_ms > LATE_DISPATCH_MS else []
    if window.cpu_span < duration / 2:
        flags.append("coarse-cpu")
    rows: list[tuple[str, str, float | None, str]] = []
    answered = 0
    for stream in streams:
        records = [r for r in result.records if r.stream == stream.name]
        ok = sum(r.ok for r in records)
        answered += ok
        if ok < len(records):
            flags.append("errors" if ok else "no-responses")
        p50, p99 = latency_percentiles(records, (50, 99)).values()
        rows += [(stream.name, "latency_p50", p50, "ms"), (stream.name, "latency_p99", p99, "ms"),
                 (stream.name, "sent", len(records), "requests"),
                 (stream.name, "ok", ok, "requests"),
                 (stream.name, "errors", len(records) - ok, "requests")]
    per_request = (window.cpu_rate * duration / answered * 1e6
                   if window.cpu_rate is not None and answered else None)
    rows += [("all", "cpu_per_request", per_request, "us"),
             ("all", "server_cpu_rate", window.cpu_rate, "CPU-s/s"),
             ("all", "cpu_samples", window.cpu_samples, "samples"),
             ("all", "memory", window.memory, "bytes"),
             ("all", "descriptors", window.descriptors, "descriptors"),
             ("all", "pacer_nofile", summary.get("nofile"), "descriptors"),
             ("all", "p99_dispatch_lag_ms", result.p99_dispatch_lag_ms, "ms"),
             ("all", "close_s", closing, "s")]
    if before and after:  # per request sent: a stalled request counts too
        sent = len(result.records)
        for name in (*COUNTERS, "requests"):
            rows.append(("all", f"{name}_per_request",
                         (after[name] - before[name]) / sent if sent else None, "per request"))
    return PacerRun(result, rows, flags)


def _settle(ctx: Context, descriptors: int | None) -> float:
    """Wait until the server has closed what the pacer opened (a thread per connection
    takes seconds to wind down 5,000 threads, each needing the GIL to leave), so that the
    next point starts from a quiet server: its descriptors back where they were, or,
    where they cannot be counted, an answer to /ping. How long that took."""
    started = time.monotonic()
    deadline = started + SETTLE_S
    while time.monotonic() < deadline:
        now = ctx.server.descriptors() if descriptors is not None else None
        if now is None and ping(ctx.server.host, ctx.server.port, timeout=SETTLE_S):
            break
        if now is not None and now <= descriptors + DESCRIPTOR_SLACK:
            break
        time.sleep(0.1)
    else:
        raise LabError(f"the server did not close the pacer's connections within "
                       f"{SETTLE_S:.0f} s", hint="its log may say why")
    return time.monotonic() - started


def _write(ctx: Context, point: Point, rows: list[tuple[str, str, float | None, str]],
           flags: list[str]) -> None:
    for stream, metric, value, unit in rows:
        if isinstance(value, float) and math.isnan(value):
            value = None
        ctx.row(point, metric, value, unit, flags, stream=stream)
