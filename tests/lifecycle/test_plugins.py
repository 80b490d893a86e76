"""Adding an experiment or a runtime touches nothing outside its own folder.

A toy experiment in a temporary package (LAB_EXPERIMENTS_PATH) runs, reports and
compares through the lab's own tasks; a copy of the python runtime under a new name
(LAB_RUNTIMES_PATH) is verified and measured. Both natively, through `invoke`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab import ROOT

TOY_EXPERIMENT = '''
"""A toy experiment: how long ten /ping requests take, one after the other."""

import time
from dataclasses import dataclass

from analysis.content import Concept, Finding, Headline, ScoreCell, ScoreColumn, Section
from analysis.stats import aggregate, fmt
from lab.experiments.framework import Experiment, Point, Session, interleave
from lab.probe import ping


@dataclass(frozen=True)
class Spec:
    pings: int
    repetitions: int = 1


class Toy(Experiment):
    name = "toy"
    title = "Ten pings in a row"
    order = 90
    profiles = {"quick": Spec(10), "standard": Spec(50), "full": Spec(100)}
    concept = Concept("Ten pings in a row", ("A toy that proves the plugin protocol.",))
    headline = Headline(("ping_ms",))

    def sessions(self, spec, targets):
        return [Session.of(t, {}, rep, [Point.of(pings=spec.pings)])
                for rep, t in interleave(targets, spec.repetitions)]

    def measure(self, ctx, point):
        started = time.perf_counter()
        ok = sum(ping(ctx.server.host, ctx.server.port) for _ in range(ctx.spec.pings))
        elapsed_ms = (time.perf_counter() - started) * 1000 / ctx.spec.pings
        ctx.row(point, "ping_ms", elapsed_ms, "ms", [] if ok == ctx.spec.pings else ["errors"])

    def section(self, run, palette):
        agg = aggregate(run.table(self.name))
        text = "; ".join(f"{t} took {fmt(m, 'ms', True)} per ping"
                         for t, m in zip(agg["target"], agg["median"]))
        return Section(self.name, self.concept, findings=[Finding(self.name, text + ".")])

    def scorecard(self, run):
        agg = aggregate(run.table(self.name))
        column = ScoreColumn(self.name, "toy ping", {"info": "ms per sequential ping"})
        for target, median in zip(agg["target"], agg["median"]):
            column.cells[target] = ScoreCell(f"{fmt(median, 'ms')} ms", "info", median)
        return [column]


EXPERIMENT = Toy()
'''


def invoke(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT,
                          env={**os.environ, "COLUMNS": "200", **env}, capture_output=True,
                          text=True, timeout=timeout)
    return done


def _run_ids(results: Path) -> list[str]:
    return sorted(p.parent.name for p in results.glob("*/run.json"))


def test_a_toy_experiment_runs_reports_and_compares_from_its_own_folder(tmp_path: Path) -> None:
    package = tmp_path / "experiments" / "toy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(TOY_EXPERIMENT)
    results, reports = tmp_path / "results", tmp_path / "reports"
    env = {"LAB_EXPERIMENTS_PATH": str(tmp_path / "experiments"),
           "LAB_RESULTS_DIR": str(results), "LAB_REPORTS_DIR": str(reports)}

    listed = invoke("--list", env=env)
    assert "lab.toy" in listed.stdout, listed.stdout
    listed = invoke("lab.experiments", env=env)
    assert "Ten pings in a row" in listed.stderr, listed.stderr
    for task in (("lab.run", "toy"), ("lab.toy",)):
        done = invoke(*task, "--profile", "quick", "--target", "python/asyncio",
                      "--backend", "native", env=env)
        assert done.returncode == 0, done.stderr[-3000:]
    first, second = _run_ids(results)
    rows = (results / first / "toy.csv").read_text()
    assert "ping_ms" in rows and "python/asyncio" in rows

    report = invoke("lab.report", "--run-id", second, env=env)
    assert report.returncode == 0, report.stderr[-3000:]
    html = (reports / second / "index.html").read_text()
    assert "Ten pings in a row" in html and "toy ping" in html
    assert re.search(r"python/asyncio took [\d.]+ ms per ping", html)

    compared = invoke("lab.compare", first, second, env=env)
    assert compared.returncode == 0, compared.stderr[-3000:]
    assert "ping_ms" in compared.stdout + compared.stderr


def _copy_python_runtime(root: Path, name: str) -> Path:
    """What a student does: copy a runtime folder, rename it, and make /info say so."""
    folder = root / name
    shutil.copytree(ROOT / "runtimes" / "python", folder,
                    ignore=shutil.ignore_patterns("__pycache__", ".venv"))
    toml = folder / "runtime.toml"
    toml.write_text(toml.read_text().replace('name = "python"', f'name = "{name}"', 1))
    app = folder / "lab_server" / "app.py"
    app.write_text(app.read_text().replace('f"python/{self.model}"', f'f"{name}/{{self.model}}"')
                   .replace('"runtime": "python"', f'"runtime": "{name}"'))
    return folder


def test_a_copied_runtime_is_verified_and_measured_with_no_other_edit(tmp_path: Path) -> None:
    _copy_python_runtime(tmp_path / "runtimes", "pycopy")
    results = tmp_path / "results"
    env = {"LAB_RUNTIMES_PATH": str(tmp_path / "runtimes"), "LAB_RESULTS_DIR": str(results),
           "LAB_REPORTS_DIR": str(tmp_path / "reports")}
    listed = invoke("lab.targets", env=env)
    assert "pycopy/asyncio" in listed.stderr and "python/asyncio" in listed.stderr

    verified = invoke("lab.verify", "--target", "pycopy/asyncio", "--backend", "native", env=env)
    assert verified.returncode == 0, verified.stderr[-3000:]
    assert "pycopy/asyncio" in verified.stderr and "PASS" in verified.stderr

    measured = invoke("lab.sweep", "--profile", "quick", "--target", "pycopy/asyncio",
                      "--backend", "native", env=env)
    assert measured.returncode == 0, measured.stderr[-3000:]
    (run_id,) = _run_ids(results)
    meta = json.loads((results / run_id / "run.json").read_text())
    assert meta["targets"]["pycopy/asyncio"]["facts"]["kind"] == "event-loop"
    assert "pycopy/asyncio" in (results / run_id / "sweep.csv").read_text()


@pytest.mark.parametrize("argv", [
    ("lab.sweep", "--profile", "huge"),
    ("lab.blocking", "--resume", "NO-SUCH-RUN"),
    ("lab.run", "no-such-experiment"),
    ("lab.serve", "go/goroutines", "--port", "99999"),
    ("lab.serve", "go/goroutines", "--port", "eighty"),
])
def test_bad_arguments_fail_in_seconds_with_no_side_effect(tmp_path: Path, argv) -> None:
    results = tmp_path / "results"
    done = invoke(*argv, "--backend", "native", env={"LAB_RESULTS_DIR": str(results)},
                  timeout=30)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "error:" in done.stderr, done.stderr
    assert not results.exists() or not any(results.iterdir())
