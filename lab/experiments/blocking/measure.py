"""Blocking measurement: what a busy handler does to everyone else, and what offload buys.

The pacer (open loop) sends a steady /ping stream and, on the same clock, /cpu?ms=M
bursts arriving at random (Poisson, mean rate r per second; the seed is the repetition,
so every target faces the same arrivals): first none (baseline), then inline, then with
offload=1. /ping latency is measured from each request's intended send time, so a
stalled server cannot hide its stalls, and a /ping that failed counts as infinitely
slow. Beside the measurement, what a *fully blocking* server with the target's executors
(and with one) would have done with the schedule that actually ran (theory.py).
Pools (runtime.toml pool_knob) get one worker per pacer connection; the standard and full
profiles also run each target's runtime.toml variants for this experiment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lab.experiments.blocking.theory import percentiles, replay_waits_ms
from lab.experiments.framework import Context, Point, Session, interleave
from lab.loadgen import PacerRecord, Stream, latency_percentiles, run_pacer
from lab.targets import Target

PHASES = ("baseline", "inline", "offload")
# A pacer that dispatched over 1% of its requests this late could not keep its own
# schedule (one late request among hundreds, a host hiccup, does not move a p99).
LATE_DISPATCH_MS = 5.0
PERCENTILES = {"p50": 50, "p90": 90, "p99": 99, "p99_9": 99.9, "max": 100}
# Pool models pin each keep-alive connection to a worker: give every pacer connection one.
PACER_CONNECTIONS = 16
CPU_CONNECTIONS = 2  # of them for the /cpu stream: 2/s of 100 ms rarely needs a second
UNITS = {"sent": "requests", "errors": "requests", "goodput": "req/s"}


@dataclass(frozen=True)
class BlockingSpec:
    baseline_s: float
    phase_s: float
    repetitions: int
    ping_rate: float = 200.0
    cpu_ms: int = 100
    cpu_rate: float = 2.0
    cpu_phase_ms: float = 50.0    # no burst at the very first /ping
    connections: int = PACER_CONNECTIONS
    variants: bool = False        # also run each target's runtime.toml variants

    def duration(self, phase: str) -> float:
        return self.baseline_s if phase == "baseline" else self.phase_s

    def streams(self, phase: str) -> list[Stream]:
        # Each stream has connections of its own; together they stay within the pools'
        # workers (one per connection).
        streams = [Stream("ping", "/ping", self.ping_rate,
                          connections=self.connections - CPU_CONNECTIONS)]
        if phase != "baseline":
            offload = "&offload=1" if phase == "offload" else ""
            streams.append(Stream("cpu", f"/cpu?ms={self.cpu_ms}{offload}", self.cpu_rate,
                                  self.cpu_phase_ms, connections=CPU_CONNECTIONS,
                                  poisson=True))
        return streams


PROFILES = {
    "quick": BlockingSpec(baseline_s=0.5, phase_s=1.5, repetitions=1),
    "standard": BlockingSpec(baseline_s=1.5, phase_s=5, repetitions=1, variants=True),
    "full": BlockingSpec(baseline_s=10, phase_s=30, repetitions=3, variants=True),
}


def knobs_for(target: Target, spec: BlockingSpec) -> dict[str, str]:
    return {target.pool_knob: str(spec.connections)} if target.pool_knob else {}


def sessions(spec: BlockingSpec, targets: Sequence[Target]) -> list[Session]:
    found = []
    points = [Point.of(phase=phase) for phase in PHASES]
    for rep, target in interleave(targets, spec.repetitions):
        extras = [{}, *target.variants_for("blocking")] if spec.variants else [{}]
        for extra in extras:
            found.append(Session.of(target, {**knobs_for(target, spec), **extra}, rep, points))
    return found


def stream_values(records: list[PacerRecord], duration_s: float) -> dict[str, float]:
    """One stream's latency percentiles from the intended send time (a failure counts as
    infinitely slow), requests sent, failures and goodput (2xx/s)."""
    ok = sum(1 for r in records if r.ok)
    measured = latency_percentiles(records, tuple(PERCENTILES.values()))
    return {**{f"latency_{name}": measured[q] for name, q in PERCENTILES.items()},
            "sent": len(records), "errors": len(records) - ok, "goodput": ok / duration_s}


def theory(pings: list[PacerRecord], bursts: list[PacerRecord], cpu_ms: float,
           executors: int | None) -> dict[str, float]:
    """Percentiles (ms) of the wait a fully blocking server would have added to these
    /pings, behind these bursts as they reached it (sent, else intended)."""
    arrivals = [(b.sent_ns if b.sent_ns is not None else b.intended_ns) / 1e6 for b in bursts]
    waits = replay_waits_ms([p.intended_ns / 1e6 for p in pings], arrivals, cpu_ms, executors)
    found = percentiles(waits, tuple(PERCENTILES.values()))
    return {name: found[q] for name, q in PERCENTILES.items()} if found else {}


def measure(ctx: Context, point: Point) -> None:
    spec: BlockingSpec = ctx.spec
    phase = point.as_dict()["phase"]
    duration = spec.duration(phase)
    cpu_before = ctx.server.cpu_seconds()
    result, load = run_pacer(ctx.backend, ctx.url, spec.streams(phase), duration,
                             connections=spec.connections, timeout_s=15,
                             seed=1 + ctx.session.repetition)
    server_cpu = ctx.server.cpu_seconds() - cpu_before
    flags = ["late-dispatch"] if result.p99_dispatch_lag_ms > LATE_DISPATCH_MS else []
    ctx.info["raw"] = ctx.raw(point, "pacer.csv", load.stdout)
    ctx.info["pacer_summary"] = result.summary
    common = {"cpu_ms": spec.cpu_ms if phase != "baseline" else 0,
              "cpu_rate_per_s": spec.cpu_rate if phase != "baseline" else 0}

    def row(stream: str, metric: str, value: float | None, unit: str, extra_flags=()):
        ctx.row(point, metric, value, unit, [*flags, *extra_flags], stream=stream, **common)

    by_stream = {s.name: [r for r in result.records if r.stream == s.name]
                 for s in spec.streams(phase)}
    for stream, records in by_stream.items():
        values = stream_values(records, duration)
        stream_flags = (["errors"] if values["errors"] else []) + \
            (["no-responses"] if records and values["errors"] == len(records) else [])
        for metric, value in values.items():
            unit = UNITS.get(metric, "ms")
            row(stream, metric, value, unit, stream_flags if unit != "req/s" else ())
    executors = ctx.session.target.executors_for(ctx.server_info.get("knobs", {}))
    row("ping", "executors", executors, "executors")
    if phase != "baseline":
        pings, bursts = by_stream["ping"], by_stream["cpu"]
        for prefix, k in (("theory", executors), ("blocked_loop", 1)):
            for name, value in theory(pings, bursts, spec.cpu_ms, k).items():
                row("ping", f"{prefix}_latency_{name}", value, "ms")
    row("all", "server_cpu_s", server_cpu, "s")
    row("all", "p99_dispatch_lag_ms", result.p99_dispatch_lag_ms, "ms")
    row("all", "max_dispatch_lag_ms", result.max_dispatch_lag_ms, "ms")
