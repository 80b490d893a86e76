"""Blocking measurement: what a busy handler does to everyone else, and what offload buys.

The pacer (open loop) sends a steady /ping stream and, on the same clock, /cpu?ms=M
bursts at r per second: first none (baseline), then inline, then with offload=1.
/ping latency is measured from each request's intended send time, so a stalled server
cannot hide its stalls. Beside the measurement, the latency a *fully blocking* server
with the target's number of executors would show (theory.py).
Pools (runtime.toml pool_knob) get one worker per pacer connection; the standard and full
profiles also run each target's runtime.toml variants for this experiment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lab.experiments.blocking.theory import blocked_percentiles
from lab.experiments.framework import Context, Point, Session, interleave
from lab.loadgen import (
    GENERATOR_BOUND_UTILISATION,
    PacerRecord,
    Stream,
    load_utilisation,
    run_pacer,
)
from lab.targets import Target

PHASES = ("baseline", "inline", "offload")
# A pacer that dispatched over 1% of a stream's requests this late could not keep its own
# schedule (one late request among hundreds, a host hiccup, does not move a p99).
LATE_DISPATCH_MS = 5.0
PERCENTILES = {"p50": 50, "p90": 90, "p99": 99, "p99_9": 99.9}
# Pool models pin each keep-alive connection to a worker: give every pacer connection one.
PACER_CONNECTIONS = 16
CPU_CONNECTIONS = 2  # of them for the /cpu stream: 2/s of 100 ms needs one at a time


@dataclass(frozen=True)
class BlockingSpec:
    baseline_s: float
    phase_s: float
    repetitions: int
    ping_rate: float = 200.0
    cpu_ms: int = 100
    cpu_rate: float = 2.0
    cpu_phase_ms: float = 250.0   # bursts start off the /ping grid's first tick
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
                                  self.cpu_phase_ms, connections=CPU_CONNECTIONS))
        return streams


PROFILES = {
    "quick": BlockingSpec(baseline_s=0.5, phase_s=1.0, repetitions=1),
    "standard": BlockingSpec(baseline_s=4, phase_s=8, repetitions=1, variants=True),
    "full": BlockingSpec(baseline_s=10, phase_s=30, repetitions=3, variants=True),
}


def latency_percentiles(records: list[PacerRecord]) -> dict[str, float | None]:
    """Percentiles of latency from intended send time over successful requests (ms)."""
    ok = np.array([r.latency_ms for r in records if r.status == 200])
    if ok.size == 0:
        return {name: None for name in [*PERCENTILES, "max", "mean"]}
    result = {name: float(np.percentile(ok, p)) for name, p in PERCENTILES.items()}
    return {**result, "max": float(ok.max()), "mean": float(ok.mean())}


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


def measure(ctx: Context, point: Point) -> None:
    spec: BlockingSpec = ctx.spec
    phase = point.as_dict()["phase"]
    cpu_before = ctx.server.cpu_seconds()
    result, load = run_pacer(ctx.backend, ctx.url, spec.streams(phase), spec.duration(phase),
                             connections=spec.connections, timeout_s=15)
    server_cpu = ctx.server.cpu_seconds() - cpu_before
    utilisation = load_utilisation(load, len(ctx.backend.cpus.load))
    flags = ["generator-bound"] if utilisation > GENERATOR_BOUND_UTILISATION else []
    if result.p99_dispatch_lag_ms > LATE_DISPATCH_MS:
        flags.append("late-dispatch")
    ctx.info["raw"] = ctx.raw(point, "pacer.csv", load.stdout)
    ctx.info["pacer_summary"] = result.summary
    common = {"cpu_ms": spec.cpu_ms if phase != "baseline" else 0,
              "cpu_rate_per_s": spec.cpu_rate if phase != "baseline" else 0}

    def row(stream: str, metric: str, value: float | None, unit: str, extra_flags=()):
        ctx.row(point, metric, value, unit, [*flags, *extra_flags], stream=stream, **common)

    for stream in [s.name for s in spec.streams(phase)]:
        records = [r for r in result.records if r.stream == stream]
        errors = sum(1 for r in records if r.status != 200)
        stream_flags = (["errors"] if errors else []) + \
            (["no-responses"] if errors == len(records) else [])
        for name, value in latency_percentiles(records).items():
            row(stream, f"latency_{name}", value, "ms", stream_flags)
        row(stream, "sent", len(records), "requests")
        row(stream, "errors", errors, "requests")
        row(stream, "throughput", (len(records) - errors) / spec.duration(phase), "req/s")
    executors = ctx.session.target.executors_for(ctx.server_info.get("knobs", {}))
    row("ping", "executors", executors, "executors")
    if phase != "baseline":
        try:
            theory = blocked_percentiles(spec.cpu_ms, spec.cpu_rate, executors,
                                         tuple(PERCENTILES.values()))
        except ValueError:
            theory = {}
        for name, p in PERCENTILES.items():
            row("ping", f"theory_latency_{name}", theory.get(p), "ms")
    row("all", "server_cpu_s", server_cpu, "s")
    row("all", "load_cpu_s", load.cpu_seconds, "s")
    row("all", "load_cpu_utilisation", utilisation, "ratio")
    row("all", "max_send_lag_ms", result.max_send_lag_ms, "ms")
    row("all", "p99_dispatch_lag_ms", result.p99_dispatch_lag_ms, "ms")
    row("all", "max_dispatch_lag_ms", result.max_dispatch_lag_ms, "ms")
