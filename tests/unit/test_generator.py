"""lab.generator without servers: what a load run asked of the generator, its ceiling, and
the backend wrapper that lets the framework see every load run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab import ROOT
from lab.backends import LoadRun
from lab.cpus import CpuSets
from lab.generator import (
    Calibration,
    GeneratorRun,
    MeteredBackend,
    ceiling_share,
    generator_bound,
    observe,
    refine,
)
from lab.wrk import parse_wrk

TESTDATA = ROOT / "loadgen" / "testdata"
PATHS = {"wrk": "wrk", "pacer": "/app/build/pacer", "wrk_script": "report.lua"}


def load(stdout: str = "", stderr: str = "", cpu: float = 1.5, wall: float = 3.4) -> LoadRun:
    return LoadRun(0, stdout, stderr, cpu, wall)


def test_wrk_is_measured_over_its_own_window_not_the_wall_time() -> None:
    stdout = (TESTDATA / "wrk_ping.stdout.txt").read_text()
    expected = parse_wrk(stdout)
    for argv in (["wrk", "-t1"], ["sh", "-c", "sampler script", "sampler", "host:80", "wrk"]):
        run = observe(PATHS, argv, load(stdout), 1)
        assert run is not None and run.tool == "wrk"
        assert run.requests == expected.requests
        assert run.window_s == pytest.approx(expected.duration_s)
        assert run.utilisation == pytest.approx(1.5 / expected.duration_s)   # not 1.5 / 3.4


def test_the_pacer_counts_what_it_sent_over_its_wall_time() -> None:
    summary = (TESTDATA / "pacer_summary.json").read_text()
    data = json.loads(summary)
    wall, sent = data["wall_ns"] / 1e9, sum(s["sent"] for s in data["streams"])
    run = observe(PATHS, ["/app/build/pacer"], load(stderr=summary, cpu=0.2), 2)
    assert run is not None and run.tool == "pacer"
    assert run.requests == sent and run.window_s == pytest.approx(wall)
    assert run.utilisation == pytest.approx(0.2 / (wall * 2))
    # Busy by design (it polls before each send): never generator-bound by its CPU alone.
    assert not generator_bound([GeneratorRun("pacer", 50_000, 1.0, 0.99, 1)], {})


def test_the_closed_loop_pacer_counts_its_outcomes_over_its_window() -> None:
    summary = (TESTDATA / "pacer_closed.json").read_text()
    data = json.loads(summary)
    run = observe(PATHS, ["/app/build/pacer", "-mode", "closed"], load(summary, cpu=0.9), 1)
    assert run is not None and run.tool == "pacer-closed"
    assert run.requests == data["requests"]
    assert run.window_s == pytest.approx(data["duration_ns"] / 1e9)
    assert generator_bound([run], {})   # 90 % of its CPU: saturated


def test_other_programs_and_broken_output_are_not_generator_runs() -> None:
    assert observe(PATHS, ["sleep", "1"], load("x"), 1) is None
    assert observe(PATHS, ["wrk"], load("no json here"), 1) is None


def test_a_saturated_generator_is_measured_an_idle_one_extrapolated() -> None:
    busy = Calibration.of(GeneratorRun("wrk", 90_000, 1.0, 0.95, 1), "go/goroutines", 64)
    assert busy.ceiling_rps == 90_000 and busy.method.startswith("measured")
    idle = Calibration.of(GeneratorRun("wrk", 30_000, 1.0, 0.25, 1), "go/goroutines", 64)
    assert idle.ceiling_rps == pytest.approx(120_000) and idle.method.startswith("extrapolated")
    run = GeneratorRun("wrk", 100_000, 1.0, 1.0, 1)
    assert ceiling_share(run, {"wrk": 120_000.0}) == pytest.approx(100_000 / 120_000)
    assert ceiling_share(run, {}) is None


class Backend:
    name = "native"
    cpus = CpuSets(server=(1,), load=(0,))

    def loadgen_paths(self) -> dict[str, str]:
        return PATHS

    def run_load(self, argv: list[str], *, timeout: float) -> LoadRun:
        return load(Path(TESTDATA / "wrk_ping.stdout.txt").read_text(), cpu=0.5)


def test_the_metered_backend_records_every_load_run_and_is_otherwise_the_backend() -> None:
    metered = MeteredBackend(Backend())  # type: ignore[arg-type]
    metered.run_load(["wrk"], timeout=1)
    metered.run_load(["wrk"], timeout=1)
    assert metered.cpu_s == pytest.approx(1.0) and len(metered.runs) == 2
    assert metered.name == "native" and metered.cpus.load == (0,)


def test_bound_above_80_percent_of_the_ceiling_or_when_seen_saturated() -> None:
    ceilings = {"wrk": 100_000.0}
    assert generator_bound([GeneratorRun("wrk", 85_000, 1.0, 0.7, 1)], ceilings)
    assert not generator_bound([GeneratorRun("wrk", 75_000, 1.0, 0.7, 1)], ceilings)
    assert generator_bound([GeneratorRun("wrk", 50_000, 1.0, 0.95, 1)], {})   # saturated
    assert not generator_bound([GeneratorRun("wrk", 90_000, 1.0, 0.5, 1)], {})  # no ceiling


def test_a_saturated_run_above_the_ceiling_raises_it() -> None:
    ceilings = {"wrk": 92_600.0}
    seen = [GeneratorRun("wrk", 120_000, 1.0, 0.999, 1), GeneratorRun("wrk", 130_000, 1.0, 0.8, 1)]
    assert refine(ceilings, seen) == {"wrk": 120_000.0}   # only what it reached saturated
    assert ceilings == {"wrk": 92_600.0}
