"""lab.report and lab.compare as the README spells them, on the committed example runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lab import ROOT
from tests.report.runs import QUICK_RUN, SWEEP_RUN


def invoke(*args: str, reports: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAB_RESULTS_DIR": str(QUICK_RUN.parent), "LAB_REPORTS_DIR": str(reports),
           "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_lab_report_writes_the_named_run_and_the_latest_by_default(tmp_path) -> None:
    named = invoke("lab.report", "--run-id", QUICK_RUN.name, reports=tmp_path)
    assert named.returncode == 0, named.stderr
    assert (tmp_path / QUICK_RUN.name / "index.html").exists()
    latest = invoke("lab.report", reports=tmp_path)
    assert latest.returncode == 0, latest.stderr
    runs = [p / "run.json" for p in QUICK_RUN.parent.iterdir() if (p / "run.json").exists()]
    newest = max(runs, key=lambda p: p.stat().st_mtime).parent.name  # 'latest', as lab says
    assert (tmp_path / newest / "index.html").exists()


def test_lab_compare_takes_two_run_ids(tmp_path) -> None:
    done = invoke("lab.compare", QUICK_RUN.name, SWEEP_RUN.name, reports=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "goodput_per_s" in done.stdout + done.stderr
