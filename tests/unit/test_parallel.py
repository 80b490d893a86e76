"""Pure parts of the parallel and threadpool experiments, and per-session CPU sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.backends.native import NativeBackend
from lab.cpus import CpuLevel, CpuSets, cpu_levels, server_cpu_list
from lab.errors import LabError
from lab.experiments.framework import Context, Point, Session
from lab.experiments.parallel import EXPERIMENT
from lab.experiments.parallel import measure as parallel
from lab.experiments.parallel.expected import capacity, expected_speedup, verdict
from lab.experiments.threadpool import measure as threadpool
from lab.loadgen import ClosedLoopResult
from lab.pacer import PacerRecord
from lab.results import Run
from lab.targets import select
from lab.workload import nice


@pytest.mark.parametrize(("sets", "up_to", "expected"), [
    # 2 cores: the 2-CPU server borrows the generator's CPU, and says so.
    (CpuSets((1,), (0,)), None, [CpuLevel((1,), 0), CpuLevel((0, 1), 1)]),
    # 8 cores: the server's half gives 1, 2 and 4, never the generator's.
    (CpuSets((4, 5, 6, 7), (0, 1, 2, 3)), None,
     [CpuLevel((4,), 0), CpuLevel((4, 5), 0), CpuLevel((4, 5, 6, 7), 0)]),
    (CpuSets((4, 5, 6, 7), (0, 1, 2, 3)), 2, [CpuLevel((4,), 0), CpuLevel((4, 5), 0)]),
    (CpuSets((0,), (0,)), None, [CpuLevel((0,), 1)]),  # one CPU: nothing to compare
])
def test_cpu_levels(sets: CpuSets, up_to: int | None, expected: list[CpuLevel]) -> None:
    assert cpu_levels(sets, up_to) == expected


def test_a_server_cpu_list_comes_from_the_session_or_the_backend() -> None:
    sets = CpuSets((1,), (0,))
    assert server_cpu_list(sets, None) == "1"
    assert server_cpu_list(sets, (1, 0)) == "0,1"
    with pytest.raises(LabError, match="not available"):
        server_cpu_list(sets, (0, 7), machine=(0, 1))


def test_sessions_on_other_cpus_are_other_sessions_and_rows_say_which() -> None:
    target = select("go/goroutines")[0]
    point = Point.of(endpoint="/work")
    one = Session.of(target, {}, 0, [point], cpus=(1,))
    two = Session.of(target, {}, 0, [point], cpus=(1, 0))
    assert two.cpus == (0, 1) and one.key != two.key
    assert Session.of(target, {}, 0, [point]).key == "go_goroutines_default_r0"  # as before

    ctx = Context(EXPERIMENT, None, NativeBackend(CpuSets((1,), (0,))), Run(Path("/tmp/r")),
                  two, None, {})
    ctx.row(point, "goodput_per_s", 1.0, "req/s")
    assert ctx.rows[0]["server_cpus"] == "0,1"


def record(connection: int, done_ms: float, status: int = 200) -> PacerRecord:
    return PacerRecord("closed", connection, 0, 0, 0, int(done_ms * 1e6), status, "")


def test_cycle_goodput_ignores_batches_and_window_edges() -> None:
    # A thread per request on one CPU: 4 connections answered together every 80 ms; the
    # window ends 60 ms after the last batch.
    batches = batches_of(4)
    assert parallel.cycle_goodput(batches) == pytest.approx(4 / 0.080, rel=0.01)
    assert len(batches) / 0.3 < 0.85 * 4 / 0.080  # what counting the window would say
    # One loop taking turns: connection c answered at 20 (c + 1) + 80 k.
    turns = [record(c, 20 * (c + 1) + 80 * k) for c in range(4) for k in range(3)]
    assert parallel.cycle_goodput(turns) == pytest.approx(50, rel=1e-6)
    assert parallel.cycle_goodput([record(0, 10), record(1, 20, status=0)]) is None


def closed(records: list[PacerRecord], connections: int, never_served: int = 0,
           window_s: float = 0.6) -> ClosedLoopResult:
    ok = sum(r.ok for r in records)
    firsts: dict[int, int] = {}
    for r in records:
        firsts[r.connection] = min(firsts.get(r.connection, r.done_ns), r.done_ns)
    setup = max(firsts.values()) / 1e9 if not never_served else None
    return ClosedLoopResult("pacer", connections, window_s, len(records), ok, 0, {},
                            never_served, setup, 0.0, ok / window_s, 1e-3, "", tuple(records))


def test_goodput_is_counted_when_a_server_serves_connections_unevenly() -> None:
    # Seven connections answered once, then starved; one answered every 15 ms: its rate
    # is not the server's. Counting the window says 37 / 0.6 s.
    starved = [record(c, 20 * (c + 1)) for c in range(7)]
    busy = [record(7, 150 + 15 * k) for k in range(30)]
    goodput, even, flags = parallel.goodput_of(closed(starved + busy, 8))
    assert even < 0.3 and flags == ["counted-goodput"]
    assert goodput == pytest.approx(37 / 0.6)
    # every connection served evenly: the connections' rates
    goodput, even, flags = parallel.goodput_of(closed(batches_of(4), 4, window_s=0.3))
    assert (even, flags) == (pytest.approx(1), [])
    assert goodput == pytest.approx(4 / 0.080, rel=0.01)
    # a connection never served, or answered first late in the window: not a steady state
    assert parallel.goodput_of(closed(batches_of(4), 5, never_served=1))[2] == [
        "counted-goodput"]
    late = batches_of(4) + [record(4, 200), record(4, 280)]
    assert parallel.goodput_of(closed(late, 5, window_s=0.3))[2] == ["counted-goodput"]


def batches_of(connections: int) -> list[PacerRecord]:
    return [record(c, 80 * k + c * 0.1) for c in range(connections) for k in (1, 2, 3)]


@pytest.mark.parametrize(("x", "expected"), [
    (0.3, 1), (1.4, 1), (1.5, 2), (3.3, 5), (140_000, 100_000), (150_000, 200_000),
    (180_000, 200_000), (16e6, 20_000_000), (7e6, 5_000_000)])
def test_sizes_are_nice_numbers(x: float, expected: int) -> None:
    assert nice(x) == expected


FACTS = {
    "loop": {"executors": 1, "kind": "event-loop",
             "offload_pools": {"/hash": "UV_THREADPOOL_SIZE", "/work": "OFFLOAD_THREADS"}},
    "m:n": {"executors": "GOMAXPROCS", "kind": "m:n-scheduler", "offload_pools": {}},
    "threads": {"executors": "connection", "kind": "thread-per-connection"},
    "workers": {"executors": "WORKERS", "kind": "event-loop-per-worker",
                "offload_pools": {"/hash": "UV_THREADPOOL_SIZE"}},
}


@pytest.mark.parametrize(("facts", "knobs", "endpoint", "offload", "threads"), [
    ("loop", {"UV_THREADPOOL_SIZE": 4}, "/work", False, 1),
    ("loop", {"UV_THREADPOOL_SIZE": 4}, "/hash", True, 4),
    ("loop", {"OFFLOAD_THREADS": 3}, "/work", True, 3),
    ("m:n", {"GOMAXPROCS": 2}, "/work", True, 2),     # no pool: offload changes nothing
    ("threads", {}, "/hash", False, 8),                # a thread per connection
    ("workers", {"WORKERS": 2, "UV_THREADPOOL_SIZE": 4}, "/hash", True, 8),
    ("workers", {"WORKERS": 2}, "/work", False, 2),
    ("loop", {}, "/hash", True, None),                 # the knob was not reported
])
def test_capacity_from_facts_and_knobs(facts: str, knobs: dict, endpoint: str, offload: bool,
                                       threads: int | None) -> None:
    assert capacity(FACTS[facts], knobs, endpoint, offload, connections=8) == threads


def test_expected_speedups_and_verdicts() -> None:
    assert expected_speedup(1, 1, 2) == 1
    assert expected_speedup(1, 2, 2) == 2
    assert expected_speedup(4, 4, 2) == 2
    assert expected_speedup(None, 2, 2) is None
    assert [verdict(s, 2) for s in (1.95, 1.6, 1.3, 1.1, None)] == [
        "scales", "scales", "partly", "does not scale", "n/a"]
    assert verdict(2.9, 4) == "scales" and verdict(1.5, 4) == "does not scale"


def test_offload_points_only_where_a_target_has_a_pool() -> None:
    standard = parallel.PROFILES["standard"]
    loop, go = select("node/event-loop")[0], select("go/goroutines")[0]
    assert [p.label for p in parallel.points_for(standard, loop)] == [
        "endpoint=/work offload=0", "endpoint=/work offload=1",
        "endpoint=/hash offload=0", "endpoint=/hash offload=1"]
    assert [p.label for p in parallel.points_for(standard, go)] == [
        "endpoint=/work offload=0", "endpoint=/hash offload=0"]
    quick = parallel.PROFILES["quick"]
    assert [p.label for p in parallel.points_for(quick, loop)] == ["endpoint=/work offload=0"]


def test_parallel_sessions_restart_each_target_per_cpu_level() -> None:
    targets = select("go/goroutines,python/prefork")
    found = parallel.sessions(parallel.PROFILES["standard"], targets, CpuSets((1,), (0,)))
    assert [(s.target.name, s.cpus, s.knob_dict) for s in found] == [
        ("go/goroutines", (1,), {}), ("go/goroutines", (0, 1), {}),
        ("python/prefork", (1,), {"WORKERS": "8"}), ("python/prefork", (0, 1), {"WORKERS": "8"})]


def test_threadpool_sessions_size_the_pool_the_burst_uses() -> None:
    spec = threadpool.PROFILES["standard"]
    targets = select("node/cluster,go/goroutines,python/threadpool")
    found = threadpool.sessions(spec, targets, CpuSets((1,), (0,)))
    knobs = {(s.target.name, s.cpus, s.variant) for s in found}
    # a loop per worker runs one worker, so that its pool is the whole pool
    assert ("node/cluster", (1,), "WORKERS=1,UV_THREADPOOL_SIZE=4") in knobs
    pools, levels = len(spec.pool_sizes), 2    # 1 and 2 CPUs
    assert len([s for s in found if s.target.name == "node/cluster"]) == pools * levels
    assert [s.variant for s in found if s.target.name == "go/goroutines"] == ["default"] * 2
    # a pool of connection owners gets a worker per connection, and no pool size
    assert {s.variant for s in found if s.target.name == "python/threadpool"} == {"WORKERS=20"}
    assert threadpool.probe_of(select("node/event-loop")[0]).path == "/fs"
    assert threadpool.probe_of(select("rust/tokio")[0]) is None
