"""An interrupted sweep keeps what it finished; --resume does only the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lab import ROOT

TARGETS = "go/goroutines,node/event-loop,rust/tokio"
POINTS = 3 * 3  # per target, quick: closed loop at 64 connections, then 2 offered loads
SWEEP = [sys.executable, "-m", "invoke", "lab.sweep", "--profile", "quick", "--target", TARGETS,
         "--backend", "native"]


def run_folders(results: Path) -> set[Path]:
    return {p.parent for p in results.glob("*/run.json")}


def test_ctrl_c_then_resume_finishes_without_repeating(tmp_path: Path) -> None:
    results = tmp_path / "results"
    env = {**os.environ, "LAB_RESULTS_DIR": str(results)}
    before = run_folders(results)
    proc = subprocess.Popen(SWEEP, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, env=env)
    deadline = time.monotonic() + 120
    points: list[Path] = []
    while time.monotonic() < deadline and not points:
        new = run_folders(results) - before
        points = [p for f in new for p in (f / "sweep" / "points").glob("*.json")]
        time.sleep(0.1)
    assert points, "the sweep never finished a point"
    os.killpg(proc.pid, signal.SIGINT)
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 130, output[-2000:]
    (folder,) = run_folders(results) - before
    meta = json.loads((folder / "run.json").read_text())
    assert meta["status"] == "interrupted"
    kept = {p: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (folder / "sweep" / "points").glob("*.json")}
    assert 1 <= len(kept) < POINTS

    resumed = subprocess.run([*SWEEP, "--resume", folder.name], cwd=ROOT, capture_output=True,
                             text=True, timeout=300, env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{len(kept)} kept from before" in resumed.stderr
    meta = json.loads((folder / "run.json").read_text())
    assert meta["status"] == "complete" and len(meta["resumed"]) == 1
    finished = list((folder / "sweep" / "points").glob("*.json"))
    assert len(finished) == POINTS
    for path, identity in kept.items():
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == identity, f"{path} was redone"
    table = (folder / "sweep.csv").read_text().splitlines()
    targets = {line.split(",")[2] for line in table[1:]}
    assert targets == set(TARGETS.split(","))
