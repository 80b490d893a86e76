"""Threadpool measurement: a burst of B offloaded /hash requests against pool sizes P.

One session per target, CPU level and pool size: the knob that sizes the pool /hash's
offload=1 runs on (runtime.toml offload_pools) set to each P; a target without such a pool
(a goroutine, thread or process per request) runs once per CPU level, as the baseline.
Each session's one point sends B requests at the same instant, each on its own primed
connection (the pacer: B streams of one request), and records when each completed. Where
the target declares a pool probe on the same pool (runtime.toml pool_probe: node's /fs),
a steady stream of probes runs before, during and after the burst.

Beside every measured completion, the fair-share theory's (theory.py) for B jobs of the
measured single-request time t on P threads and the session's CPUs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lab.cpus import SHARED_CPU_GENERATOR_LIMIT, CpuLevel, CpuSets, cpu_levels
from lab.experiments.framework import Context, Point, Session, interleave
from lab.experiments.threadpool.theory import burst, fair_share
from lab.loadgen import PacerRecord, Stream, percentile, run_pacer
from lab.targets import Target
from lab.workload import SIZED, calibrate, fastest_ms, warm_up

ENDPOINT = "/hash"
PROBE_CONNECTIONS = 4
MIN_BUSY = 0.8
BURST_STREAM = "burst"


@dataclass(frozen=True)
class ThreadpoolSpec:
    requests: int                  # B, sent at once
    pool_sizes: tuple[int, ...]    # P
    request_ms: float              # server CPU per request (sizes are calibrated to it)
    repetitions: int
    max_cpus: int | None = 2       # CPU levels 1, 2, ... up to this (None: the machine's)
    probe_rate: float = 100.0      # pool probes per second, where the target has one
    lead_ms: float = 30.0          # probes before the burst

    def levels(self, cpus: CpuSets) -> list[CpuLevel]:
        return cpu_levels(cpus, self.max_cpus)


PROFILES = {
    "quick": ThreadpoolSpec(requests=8, pool_sizes=(2,), request_ms=10, repetitions=1,
                            max_cpus=1),
    "standard": ThreadpoolSpec(requests=16, pool_sizes=(1, 4, 8), request_ms=15,
                               repetitions=1),
    "full": ThreadpoolSpec(requests=16, pool_sizes=(1, 2, 4, 8, 16), request_ms=30,
                           repetitions=3, max_cpus=None),
}
POINT = Point.of(endpoint=ENDPOINT, offload=1)


def pool_knob(target: Target) -> str | None:
    return target.offload_pools.get(ENDPOINT)


def probe_of(target: Target):
    """The target's pool probe, if it uses the pool the burst fills."""
    probe = target.pool_probe
    return probe if probe is not None and probe.knob == pool_knob(target) else None


def knobs_for(target: Target, spec: ThreadpoolSpec, pool: int | None) -> dict[str, str]:
    knobs = {}
    if target.pool_knob:  # pools of connection owners: one worker per connection
        knobs[target.pool_knob] = str(spec.requests + PROBE_CONNECTIONS)
    if target.kind == "event-loop-per-worker" and isinstance(target.executors, str):
        knobs[target.executors] = "1"  # one worker, so that its pool is the whole pool
    if pool is not None and (knob := pool_knob(target)):
        knobs[knob] = str(pool)
    return knobs


def sessions(spec: ThreadpoolSpec, targets: Sequence[Target], cpus: CpuSets) -> list[Session]:
    found = []
    for rep, target in interleave(targets, spec.repetitions):
        pools: Sequence[int | None] = spec.pool_sizes if pool_knob(target) else [None]
        for level in spec.levels(cpus):
            for pool in pools:
                found.append(Session.of(target, knobs_for(target, spec, pool), rep, [POINT],
                                        cpus=level.cpus))
    return found


_sizes: dict[tuple[str, str], int] = {}


def size_for(ctx: Context) -> tuple[int, bool]:
    """iter for this target in this run, calibrated offloaded on its first session, and
    whether that was just now (on this server: which warmed the path up)."""
    key = (ctx.run.run_id, ctx.session.target.name)
    if key in _sizes:
        return _sizes[key], False
    _sizes[key] = calibrate(ctx.server, ENDPOINT, ctx.spec.request_ms, offload=True)
    return _sizes[key], True


def threads_in_effect(ctx: Context) -> int | None:
    """P as the server reports it in /info (None: a thread of its own per request)."""
    knob = pool_knob(ctx.session.target)
    return int(ctx.server_info["knobs"][knob]) if knob else None


def measure(ctx: Context, point: Point) -> None:
    spec: ThreadpoolSpec = ctx.spec
    target = ctx.session.target
    cpus = ctx.session.cpus or ctx.backend.cpus.server
    shared = len(set(cpus) & set(ctx.backend.cpus.load))
    size, warm = size_for(ctx)
    path = SIZED[ENDPOINT].path(size, offload=True)
    single_ms = fastest_ms(ctx.server, path) if warm else warm_up(ctx.server, path)
    threads = threads_in_effect(ctx)
    makespan = burst(spec.requests, single_ms, threads, len(cpus))[-1]  # to plan the run
    probe = probe_of(target)
    lead = spec.lead_ms if probe else 0.0
    streams = [Stream(f"{BURST_STREAM}{i:02d}", path, 0.1, lead, 1)
               for i in range(spec.requests)]
    # Probes until well after the burst should have ended; without probes, one request
    # per stream (scheduled in [0, 1 ms)).
    duration_s = (lead + 1.25 * makespan + 50) / 1000 if probe else 0.001
    if probe:
        streams.append(Stream("probe", probe.path, spec.probe_rate, 0, PROBE_CONNECTIONS))
    cpu_before = ctx.server.cpu_seconds()
    result, load = run_pacer(ctx.backend, ctx.url, streams, duration_s,
                             timeout_s=max(15.0, 4 * makespan / 1000))
    server_cpu = ctx.server.cpu_seconds() - cpu_before
    # The theory's t: the smaller of the CPU time per request during the burst (which
    # neighbours on the machine do not inflate, but a JIT compiler's or a GC's threads do)
    # and the fastest single request's wall time (which neighbours inflate).
    t = min(server_cpu * 1000 / spec.requests or single_ms, single_ms)
    expected = burst(spec.requests, t, threads, len(cpus))
    ctx.info["raw"] = ctx.raw(point, "pacer.csv", load.stdout)
    ctx.info["pacer_summary"] = result.summary
    bursts = [r for r in result.records if r.stream.startswith(BURST_STREAM)]
    failed = sum(1 for r in bursts if not r.ok)
    generator_share = load.cpu_seconds / max(load.wall_seconds, 1e-9)
    flags = ["errors"] if failed else []
    if shared and generator_share > SHARED_CPU_GENERATOR_LIMIT:
        flags.append("generator-heavy")
    # Until its last wave, a burst keeps min(P, CPUs) CPUs busy; a server that used less
    # than MIN_BUSY of that over the burst did not get its CPUs: other processes held them.
    makespan_s = max((r.latency_ms for r in bursts if r.ok), default=0) / 1000
    busy = server_cpu / makespan_s if makespan_s else 0.0
    if busy < MIN_BUSY * min(threads or spec.requests, len(cpus)):
        flags.append("cpu-starved")
    knob = pool_knob(target)
    extra = {"cpus": len(cpus), "shared_cpus": shared, "requests": spec.requests,
             "pool_knob": knob or "none", "pool": threads if threads is not None else 0}

    def row(metric: str, value: float | None, unit: str, **more: object) -> None:
        ctx.row(point, metric, value, unit, flags, **extra, **more)

    measured = sorted(r.latency_ms for r in bursts)  # failures are infinite: last
    for rank, (done, theory) in enumerate(zip(measured, expected, strict=True), start=1):
        row("completion_ms", done if done != float("inf") else None, "ms", rank=rank)
        row("theory_completion_ms", theory, "ms", rank=rank)
    for name, values in (("", measured), ("theory_", expected)):
        for stat, q in (("p50", 50), ("max", 100)):
            found = percentile(values, q)  # a failure, infinitely slow, is no time
            row(f"{name}completion_{stat}_ms", found if found != float("inf") else None, "ms")
    row("single_ms", single_ms, "ms")
    row("t_ms", t, "ms")
    row("iter", size, "iter")
    row("failed", failed, "requests")
    row("server_cpu_s", server_cpu, "s")
    row("server_cpus_busy", busy, "CPUs")
    row("load_cpu_s", load.cpu_seconds, "s")
    row("generator_share", generator_share, "ratio")
    if probe:
        _probe_rows(row, [r for r in result.records if r.stream == "probe"], bursts,
                    t, threads, len(cpus), lead)


def _probe_rows(row, probes: list[PacerRecord], bursts: list[PacerRecord], t: float,
                threads: int | None, cores: int, lead_ms: float) -> None:
    """Each probe's latency by when it was due (ms from the burst), with the theory's: a
    probe is a job of no length, queued on the same pool behind the burst's jobs (the
    theory leaves out the wait for the probe's own connection, busy with an earlier one)."""
    due = [r.intended_ns / 1e6 - lead_ms for r in probes]
    during = [d for d in due if d >= 0]  # those due before the burst find the pool idle
    works = [t] * len(bursts) + [0.0] * len(during)
    done = iter(fair_share(works, threads, cores, [0.0] * len(bursts) + during)[len(bursts):])
    for record, at in zip(probes, due, strict=True):
        theory = next(done) - at if at >= 0 else 0.0
        row("probe_latency_ms", record.latency_ms if record.ok else None, "ms",
            probe_at_ms=round(at, 1))
        row("theory_probe_latency_ms", theory, "ms", probe_at_ms=round(at, 1))
