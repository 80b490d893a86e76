"""`lab.all --profile quick` end to end on a subset of targets, as a student would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema

from lab import ROOT

TARGETS = ("go/goroutines", "python/asyncio")


def test_lab_all_quick_builds_verifies_measures_and_reports(docker_backend, tmp_path) -> None:
    env = {**os.environ, "LAB_RESULTS_DIR": str(tmp_path / "results"),
           "LAB_REPORTS_DIR": str(tmp_path / "reports"), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "lab.all", "--profile", "quick", "--backend", "docker",
         "--target", ",".join(TARGETS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    (folder,) = (tmp_path / "results").iterdir()
    meta = json.loads((folder / "run.json").read_text())
    assert meta["status"] == "complete" and meta["backend"]["backend"] == "docker"
    assert sorted(meta["targets"]) == sorted(TARGETS)
    for experiment in ("sweep", "blocking", "readiness", "parallel", "threadpool"):
        lines = (folder / f"{experiment}.csv").read_text().splitlines()
        assert all(any(t in line for line in lines) for t in TARGETS), experiment
        assert any(",foreign_cpu_server_s," in line for line in lines), experiment
    # where the numbers came from, and what could have disturbed them
    jsonschema.validate(meta, json.loads((ROOT / "lab" / "run.schema.json").read_text()))
    assert meta["calibration"]["wrk"]["ceiling_rps"] > 0
    assert meta["noise"]["container_runtime"]["name"]
    assert all(image for image in meta["images_used"].values())

    report = tmp_path / "reports" / folder.name / "index.html"
    assert f"report: {report}" in done.stderr.replace("\n", "")
    html = report.read_text()
    assert all(t in html for t in TARGETS)
    assert "memory per idle conn" in html and "Memory per idle connection" in html
    # every experiment's section, and the scorecard columns of parallel and threadpool
    for text in ("Concurrency is not parallelism", "The hidden pool under an async runtime",
                 "/work inline, 2 CPUs", "burst vs fair share"):
        assert text in html, text
    assert (tmp_path / "reports" / "latest").resolve() == report.parent
    assert Path(report).stat().st_size > 50_000  # figures are embedded
