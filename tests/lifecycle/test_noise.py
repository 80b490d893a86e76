"""Noise recorded per point: a busy process on the server's CPU during a point is seen as
foreign CPU and flags the point noisy; the server's own CPU is never counted as foreign.

Behaviour tests: the busy process burns a fixed amount of CPU time (not of wall time), and
the assertions compare CPU seconds with CPU seconds, never with a clock.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.backends.native import NativeBackend
from lab.cpus import default_cpu_sets
from lab.experiments.framework import Experiment, Point, Session, run_experiment
from lab.loadgen import run_wrk
from lab.noise import NOISE_METRICS, PointMeter, pinned
from lab.results import create_run
from lab.targets import select

BURN_S = 0.4
SPIN = "import time\nwhile time.process_time() < {seconds}: pass\n"


def burn(cpus: str, seconds: float = BURN_S) -> float:
    """A process pinned to cpus that spins until it has used `seconds` of CPU: its CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["taskset", "-c", cpus, sys.executable, "-c", SPIN.format(seconds=seconds)],
                   check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def test_the_server_s_own_cpu_is_not_foreign() -> None:
    """Two meters over one window: one counts the busy process as the server, one does not;
    they differ by exactly its CPU time, whatever else the machine did meanwhile."""
    cpus = default_cpu_sets()
    used = {"cpu": 0.0}
    as_server, as_stranger = PointMeter(cpus, lambda: used["cpu"]), PointMeter(cpus, lambda: 0)
    as_server.start()
    as_stranger.start()
    used["cpu"] = burn(cpus.server_list)
    stranger, server = as_stranger.stop(0.0), as_server.stop(0.0)
    assert stranger.foreign_cpu_server_s >= 0.8 * used["cpu"]   # clock ticks: 10 ms each
    assert server.foreign_cpu_server_s == pytest.approx(
        max(0.0, stranger.foreign_cpu_server_s - used["cpu"]), abs=0.05)


@dataclass(frozen=True)
class Spec:
    repetitions: int = 1


class Disturbed(Experiment):
    """Two points: one with a busy process on the server's CPUs, one without."""

    name = "disturbed"
    title = "a busy neighbour"
    profiles = {"quick": Spec()}

    def sessions(self, spec, targets):
        return [Session.of(targets[0], {}, 0, [Point.of(busy=1), Point.of(busy=0)])]

    def measure(self, ctx, point):
        burned = burn(ctx.backend.cpus.server_list) if point.as_dict()["busy"] else 0.0
        ctx.row(point, "burned_cpu_s", burned, "s")


def test_a_busy_process_on_the_server_cpu_flags_the_point_noisy(tmp_path: Path,
                                                                monkeypatch) -> None:
    monkeypatch.setattr("lab.results.RESULTS_DIR", tmp_path)
    backend = NativeBackend(default_cpu_sets())
    run = create_run(["test"], backend=backend.describe(), profile="quick",
                     experiments=["disturbed"], cpus=backend.cpus.as_record(), targets={})
    with pinned(backend.cpus.load):
        outcome = run_experiment(Disturbed(), "quick", select("python/asyncio"), backend, run)
    assert outcome.measured == 2
    (busy,) = [p for p in run.points("disturbed") if p["rows"][0]["busy"] == 1]
    rows = {r["metric"]: r for r in busy["rows"]}
    assert set(NOISE_METRICS) <= set(rows)
    burned = rows["burned_cpu_s"]["value"]
    assert rows["foreign_cpu_server_s"]["value"] >= 0.8 * burned
    assert all("noisy" in r["flags"].split(";") for r in busy["rows"])
    assert rows["generator_ceiling_share"]["value"] is None   # no calibration in this run
    table = run.write_table("disturbed").read_text()
    assert "foreign_cpu_server_share" in table


class Loaded(Experiment):
    """One point of wrk at 8 connections: the framework sees the load run by itself."""

    name = "loaded"
    title = "a wrk run"
    profiles = {"quick": Spec()}

    def sessions(self, spec, targets):
        return [Session.of(targets[0], {}, 0, [Point.of(connections=8)])]

    def measure(self, ctx, point):
        result, _ = run_wrk(ctx.backend, ctx.url + "/ping", 8, 1)
        ctx.row(point, "requests_per_s", result.requests_per_s, "req/s")


def test_a_load_above_the_calibrated_ceiling_is_flagged_generator_bound(
        tmp_path: Path, monkeypatch) -> None:
    """A ceiling of 100 req/s, which any target beats many times over at 8 connections."""
    monkeypatch.setattr("lab.results.RESULTS_DIR", tmp_path)
    backend = NativeBackend(default_cpu_sets())
    backend.build_loadgen()
    run = create_run(["test"], backend=backend.describe(), profile="quick",
                     experiments=["loaded"], cpus=backend.cpus.as_record(), targets={},
                     calibration={"wrk": {"ceiling_rps": 100.0}})
    with pinned(backend.cpus.load):
        assert run_experiment(Loaded(), "quick", select("python/asyncio"), backend,
                              run).measured == 1
    (point,) = run.points("loaded")
    rows = {r["metric"]: r for r in point["rows"]}
    assert rows["generator_ceiling_share"]["value"] > 1
    assert rows["generator_cpu_s"]["value"] > 0
    assert all("generator-bound" in r["flags"].split(";") for r in point["rows"])
