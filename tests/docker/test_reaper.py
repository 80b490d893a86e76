"""A lab killed with SIGKILL mid-point leaves nothing running: its watcher removes its
containers at once, or (watcher off) the next lab task does and says so; a second, live
lab on the same engine is never touched; --resume finishes the killed run, losing nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import ROOT
from lab.neighbours import cpu_neighbours
from lab.probe import ping
from lab.reaper import LabContainer, lab_containers
from lab.targets import select

LAB = [sys.executable, "-m", "invoke"]
SWEEP = [*LAB, "lab.sweep", "--profile", "quick", "--target", "go/goroutines",
         "--backend", "docker"]


def owned_by(client, pid: int) -> list[LabContainer]:
    return [c for c in lab_containers(client) if c.labels.get("lab.owner-pid") == str(pid)]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def live_lab(docker_backend):
    """A second lab, serving go/goroutines in its own process for the whole module."""
    docker_backend.build(select("go/goroutines")[0].runtime)
    proc = subprocess.Popen([*LAB, "lab.serve", "go/goroutines", "--backend", "docker"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    client = docker_backend.client

    def its_server():
        servers = [c for c in owned_by(client, proc.pid) if c.labels["lab.role"] == "server"]
        return servers[0] if servers and servers[0].running else None

    server = client.containers.get(wait_for(its_server, 90, "the live lab's server").id)
    port = int(dict(e.split("=", 1) for e in server.attrs["Config"]["Env"])["PORT"])
    wait_for(lambda: ping("127.0.0.1", port), 30, "the live lab's /ping")
    yield proc, server, port
    os.killpg(proc.pid, signal.SIGINT)
    proc.communicate(timeout=60)
    assert not owned_by(client, proc.pid), "the live lab left containers behind"


QUICK_POINTS = 3   # /ping at 64 connections (wrk), then open loop at 50 and 100 % (pacer)


def kill_mid_point(client, results: Path, env: dict[str, str]) -> tuple[int, Path, dict]:
    """Start a quick sweep, SIGKILL it once its first point is written, while its server
    and load generator are up (a point lasts about a second); (pid, run, kept)."""
    proc = subprocess.Popen(SWEEP, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    points = wait_for(lambda: list(results.glob("*/sweep/points/*.json")), 120,
                      "the sweep's first point")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    folder = points[0].parent.parent.parent
    kept = {p: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (folder / "sweep" / "points").glob("*.json")}
    assert 1 <= len(kept) < QUICK_POINTS
    return proc.pid, folder, kept


def resume_loses_nothing(folder: Path, kept: dict, env: dict[str, str]) -> None:
    resumed = subprocess.run([*SWEEP, "--resume", folder.name], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (f"{QUICK_POINTS - len(kept)} measured, {len(kept)} kept from before, 0 failed"
            in resumed.stderr.replace("\n", "")), resumed.stderr[-3000:]
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"
    assert len(list((folder / "sweep" / "points").glob("*.json"))) == QUICK_POINTS
    for path, identity in kept.items():
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == identity, f"{path} was redone"


def lab_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "LAB_RESULTS_DIR": str(tmp_path / "results"), "COLUMNS": "250",
            **extra}


def test_without_a_watcher_the_next_task_removes_a_killed_labs_containers(
        docker_backend, live_lab, tmp_path: Path) -> None:
    live, live_server, port = live_lab
    client = docker_backend.client
    env = lab_env(tmp_path, LAB_WATCHER="0")
    pid, folder, kept = kill_mid_point(client, tmp_path / "results", env)
    time.sleep(2)
    left = owned_by(client, pid)
    assert {c.labels["lab.role"] for c in left} == {"server", "load"}, "nothing to reap?"

    task = subprocess.run([*LAB, "lab.build", "--target", "go/goroutines", "--backend",
                           "docker"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert task.returncode == 0, task.stderr[-3000:]
    assert (f"removed 2 container(s) left by lab process {pid}" in task.stderr
            and f"run {folder.name}" in task.stderr), task.stderr[-3000:]
    assert not owned_by(client, pid)
    live_server.reload()
    assert live.poll() is None and live_server.status == "running" and ping("127.0.0.1", port)
    resume_loses_nothing(folder, kept, env)


def test_the_watcher_removes_a_killed_labs_containers_at_once(
        docker_backend, live_lab, tmp_path: Path) -> None:
    live, live_server, port = live_lab
    client = docker_backend.client
    env = lab_env(tmp_path)
    pid, folder, kept = kill_mid_point(client, tmp_path / "results", env)
    # Nothing else runs: the engine closes the watcher's stdin, the watcher removes them.
    wait_for(lambda: not owned_by(client, pid), 30, "the watcher to remove the containers")
    live_server.reload()
    assert live.poll() is None and live_server.status == "running" and ping("127.0.0.1", port)
    resume_loses_nothing(folder, kept, env)


def test_another_labs_container_on_our_cpus_is_a_neighbour(docker_backend, live_lab) -> None:
    live, live_server, _ = live_lab
    go = select("go/goroutines")[0]
    with docker_backend.serve(go) as ours:
        found = {n.name: n for n in cpu_neighbours(docker_backend)}
    assert ours.container.name not in found, "this lab's own server is not a neighbour"
    other = found[live_server.name]
    assert other.near == ("server",) and other.cpus == docker_backend.cpus.server_list
    assert f"lab process {live.pid}" in other.owner and other.owner.endswith("running")
    assert other.cpu_seconds is not None and other.cpu_seconds > 0
