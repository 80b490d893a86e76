"""Parallel measurement: CPU-bound goodput of every target on 1, 2, ... CPUs.

One session per target and CPU level (lab.cpus.cpu_levels: the server restarted on each
set, so that knobs derived from the affinity mask follow it). Its points are /work and
/hash, inline and with offload=1 where the target has an offload pool for the endpoint
(runtime.toml offload_pools; elsewhere offload=1 changes nothing, SPEC section 6), each a
closed loop of the pacer at `connections` connections, at least 4x the most CPUs.

Request sizes are calibrated per target (lab.workload) so that one request costs about
request_ms of CPU; goodput is taken from the per-request records (goodput_of), because
with requests of tens of ms a window holds few responses, which a thread-per-request
server returns in batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lab.cpus import SHARED_CPU_GENERATOR_LIMIT, CpuLevel, CpuSets, cpu_levels
from lab.experiments.framework import Context, Point, Session, interleave
from lab.loadgen import ClosedLoopResult, PacerRecord, parse_pacer_summary, run_closed_loop
from lab.targets import Target
from lab.workload import SIZED, calibrate, request_ms, wait_idle, warm_up

CONNECTIONS_PER_CPU = 4
# On one CPU, a closed loop of CPU-bound requests keeps any server busy; one that got less
# than this share of its CPU shared it with other processes, and its speed-up is inflated.
MIN_BUSY_ALONE = 0.8
# A closed loop is in steady state when every connection had its first response by this
# share of the window, and they were served evenly (Jain's fairness from EVEN).
STEADY_BY = 0.5
EVEN = 0.8
INLINE, OFFLOAD = "inline", "offload"


@dataclass(frozen=True)
class ParallelSpec:
    plan: tuple[tuple[str, tuple[str, ...]], ...]   # endpoint -> modes (inline, offload)
    request_ms: float       # server CPU per request (sizes are calibrated to it)
    window_s: float         # each closed loop
    repetitions: int
    max_cpus: int | None = None   # None: 1, 2, 4, ... up to what the machine gives

    def levels(self, cpus: CpuSets) -> list[CpuLevel]:
        return cpu_levels(cpus, self.max_cpus)


FULL_PLAN = (("/work", (INLINE, OFFLOAD)), ("/hash", (INLINE, OFFLOAD)))
PROFILES = {
    # /work inline alone: who runs the language's own code in parallel (the first look).
    "quick": ParallelSpec(plan=(("/work", (INLINE,)),), request_ms=10, window_s=0.3,
                          repetitions=1, max_cpus=2),
    "standard": ParallelSpec(plan=FULL_PLAN, request_ms=20, window_s=0.6, repetitions=1),
    "full": ParallelSpec(plan=FULL_PLAN, request_ms=30, window_s=3, repetitions=3),
}


def points_for(spec: ParallelSpec, target: Target) -> list[Point]:
    """offload=1 only where the target has a pool for the endpoint; elsewhere it is the
    inline point (measured once)."""
    found: list[Point] = []
    for endpoint, modes in spec.plan:
        for mode in modes:
            point = Point.of(endpoint=endpoint,
                             offload=int(mode == OFFLOAD and endpoint in target.offload_pools))
            if point not in found:
                found.append(point)
    return found


def knobs_for(target: Target, connections: int) -> dict[str, str]:
    """Pools serve one connection per worker: one worker per connection."""
    return {target.pool_knob: str(connections)} if target.pool_knob else {}


def connections_for(spec: ParallelSpec, cpus: CpuSets) -> int:
    return CONNECTIONS_PER_CPU * max(level.count for level in spec.levels(cpus))


def sessions(spec: ParallelSpec, targets: Sequence[Target], cpus: CpuSets) -> list[Session]:
    levels = spec.levels(cpus)
    connections = connections_for(spec, cpus)
    found = []
    for rep, target in interleave(targets, spec.repetitions):
        for level in levels:
            found.append(Session.of(target, knobs_for(target, connections), rep,
                                    points_for(spec, target), cpus=level.cpus))
    return found


# Calibrated sizes, per run, target and endpoint: every CPU level of a target in a run
# gets the same requests (a resumed run calibrates again; speed-ups compare work rates).
_sizes: dict[tuple[str, str, str], int] = {}


def size_for(ctx: Context, endpoint: str) -> tuple[int, bool]:
    """The calibrated size, and whether it was calibrated just now (on this server, inline:
    which warmed that path up)."""
    key = (ctx.run.run_id, ctx.session.target.name, endpoint)
    if key in _sizes:
        return _sizes[key], False
    _sizes[key] = calibrate(ctx.server, endpoint, ctx.spec.request_ms)
    return _sizes[key], True


def cycle_goodput(records: Sequence[PacerRecord]) -> float | None:
    """2xx responses per second of a closed loop in steady state, from its records: the
    connections served times their mean rate, each connection's rate taken between its
    first and last response, so that responses returned in batches (a thread per request
    finishing together) or cut by the window's edges do not bias it. None: no connection
    got two responses."""
    done: dict[int, list[int]] = {}
    for record in records:
        if record.ok:
            done.setdefault(record.connection, []).append(record.done_ns)
    cycles = sum(len(times) - 1 for times in done.values())
    span = sum(max(times) - min(times) for times in done.values() if len(times) > 1)
    served = sum(1 for times in done.values() if len(times) > 1)
    return served * cycles / (span / 1e9) if cycles and span else None


def fairness(records: Sequence[PacerRecord], connections: int) -> float:
    """Jain's index of the 2xx responses per connection: 1 when every connection got as
    many, 1/connections when one got them all."""
    counts = [0] * connections
    for record in records:
        if record.ok and record.connection < connections:
            counts[record.connection] += 1
    total = sum(counts)
    return total * total / (connections * sum(c * c for c in counts)) if total else 0.0


def goodput_of(result: ClosedLoopResult) -> tuple[float | None, float, list[str]]:
    """Goodput, fairness and flags of one closed loop. Rates per connection need a steady
    state (every connection answered early in the window, and evenly); otherwise
    (connections still being admitted late, or starved by a server serving a few) the 2xx
    responses are counted over the window, flagged counted-goodput. The count misses the
    work in progress at the window's end: the analysis compares counts only with counts."""
    even = fairness(result.records, result.connections)
    steady = (result.never_served == 0 and even >= EVEN and result.setup_s is not None
              and result.setup_s <= STEADY_BY * result.duration_s)
    goodput = cycle_goodput(result.records) if steady else None
    if goodput is not None:
        return goodput, even, []
    # The server is busy from the first request on (every connection sends at once), so
    # the window's count misses only the work in progress at its end.
    return (result.goodput_per_s if result.ok else None), even, ["counted-goodput"]


def measure(ctx: Context, point: Point) -> None:
    spec: ParallelSpec = ctx.spec
    params = point.as_dict()
    endpoint, offload = str(params["endpoint"]), bool(params["offload"])
    session = ctx.session
    cpus = session.cpus or ctx.backend.cpus.server
    shared = len(set(cpus) & set(ctx.backend.cpus.load))
    connections = connections_for(spec, ctx.backend.cpus)
    size, warm = size_for(ctx, endpoint)
    path = SIZED[endpoint].path(size, offload)
    single_ms = request_ms(ctx.server, path) if warm and not offload else \
        warm_up(ctx.server, path)
    cpu_before = ctx.server.cpu_seconds()
    result, load = run_closed_loop(ctx.backend, ctx.url + path, connections, spec.window_s,
                                   tool="pacer", records=True)
    server_cpu = ctx.server.cpu_seconds() - cpu_before
    drained_s = wait_idle(ctx.server)
    generator_share = load.cpu_seconds / spec.window_s
    goodput, even, flags = goodput_of(result)
    if shared and generator_share > SHARED_CPU_GENERATOR_LIMIT:
        flags.append("generator-heavy")
    if len(cpus) == 1 and server_cpu / result.duration_s < MIN_BUSY_ALONE:
        flags.append("cpu-starved")
    if result.errors_total or result.non_2xx:
        flags.append("errors")
    if not result.ok:
        flags.append("no-responses")
    ctx.info["raw"] = ctx.raw(point, "closed.csv", load.stdout)
    ctx.info["pacer_summary"] = parse_pacer_summary(load.stderr)
    extra = {"cpus": len(cpus), "shared_cpus": shared, "connections": connections}

    def row(metric: str, value: float | None, unit: str) -> None:
        ctx.row(point, metric, value, unit, flags, **extra)

    row("goodput_per_s", goodput, "req/s")
    row("work_per_s", goodput * size if goodput is not None else None, f"{SIZED[endpoint].param}/s")
    row("counted_per_s", result.goodput_per_s, "req/s")
    row("ok", result.ok, "requests")
    row("fairness", even, "ratio")
    row("errors", result.errors_total + result.non_2xx, "requests")
    row("never_served", result.never_served, "connections")
    row("size", size, SIZED[endpoint].param)
    row("single_ms", single_ms, "ms")
    row("server_cpu_s", server_cpu, "s")
    row("server_cpus_busy", server_cpu / result.duration_s, "CPUs")
    row("cpu_per_request_ms", server_cpu * 1000 / result.ok if result.ok else None, "ms")
    row("load_cpu_s", load.cpu_seconds, "s")
    row("generator_share", generator_share, "ratio")
    row("drain_s", drained_s, "s")
    for knob, value in sorted((ctx.server_info.get("knobs") or {}).items()):
        row(f"knob_{knob}", value, "")
