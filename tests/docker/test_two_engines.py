"""Servers on one Docker engine, the load generator on another: a second dockerd on this
host (its own socket, data root, exec root, pid file, bridge, cgroup parent and
containerd namespaces), started by the fixture and stopped after. Images reach it built
or transferred; a sweep, Ctrl-C and lab.all work across the two engines."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import pytest

from lab import ROOT
from lab.backends.engines import DEFAULT_URL
from lab.reaper import lab_containers
from tests.deployments import required

LAB = [sys.executable, "-m", "invoke"]
TARGET = "go/goroutines"


def _free_subnet() -> str:
    """A 10.213.N.0/24 no interface of this host uses, for the second engine's bridge."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    for n in range(1 + os.getpid() % 200, 255):
        if f"10.213.{n}." not in used:
            return f"10.213.{n}.1/24"
    raise AssertionError("no free 10.213.N.0/24 subnet")


@pytest.fixture(scope="module")
def engine_b(docker_backend):
    """A second dockerd. Its own bridge, because a daemon started with --bridge=none
    deletes the host's docker0 (moby's removeDefaultBridgeInterface) and so breaks the
    first engine's default network; --iptables=false and --ip-forward=false leave the
    host's firewall and sysctls alone."""
    if os.geteuid() != 0 or not shutil.which("dockerd") or not shutil.which("ip"):
        reason = "a second dockerd needs root, dockerd and ip (iproute2)"
        if required("LAB_REQUIRE_DOCKER"):
            pytest.fail(reason)
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="lab-e2-", dir="/var/tmp"))
    name = f"labe2{os.getpid() % 100000}"
    url = f"unix://{root}/docker.sock"
    daemon = None
    try:
        subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", _free_subnet(), "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        with open(root / "dockerd.log", "wb") as log:
            daemon = subprocess.Popen(
                ["dockerd", "--host", url, "--data-root", f"{root}/data", "--exec-root",
                 f"{root}/exec", "--pidfile", f"{root}/docker.pid", "--bridge", name,
                 "--iptables=false", "--ip-masq=false", "--ip-forward=false",
                 "--containerd-namespace", name, "--containerd-plugins-namespace",
                 f"{name}-plugins", "--cgroup-parent", name],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                docker.DockerClient(base_url=url, timeout=10).ping()
                break
            except docker.errors.DockerException:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the second dockerd did not start:\n"
                                         + (root / "dockerd.log").read_text()[-3000:]) from None
                time.sleep(0.2)
        yield url
    finally:
        if daemon is not None:
            daemon.terminate()
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        subprocess.run(["ip", "link", "del", name], check=False, capture_output=True)
        # dockerd leaves the host's network namespace bind-mounted in its exec root.
        for mount in reversed(Path("/proc/self/mounts").read_text().splitlines()):
            if (point := mount.split()[1]).startswith(str(root)):
                subprocess.run(["umount", "-l", point], check=False)
        shutil.rmtree(root)


@pytest.fixture(scope="module")
def engine_a() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_URL


def lab(*args: str, tmp_path: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAB_RESULTS_DIR": str(tmp_path / "results"),
           "LAB_REPORTS_DIR": str(tmp_path / "reports"), "COLUMNS": "250"}
    return subprocess.run([*LAB, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def hashes(url: str) -> dict[str, str]:
    client = docker.DockerClient(base_url=url)
    return {tag: image.labels.get("lab.content-hash", "")
            for image in client.images.list() for tag in image.tags}


def test_images_reach_the_second_engine_and_are_cached_there(engine_a, engine_b,
                                                               tmp_path) -> None:
    done = lab("lab.build", "--target", TARGET, "--server-engine", engine_b,
               "--load-engine", engine_a, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"on {engine_b}, transferred from {engine_a}" in done.stderr
    on_a, on_b = hashes(engine_a), hashes(engine_b)
    namespace = os.environ.get("LAB_IMAGE_NAMESPACE", "async-runtime-lab")
    for image in ("go", "helper"):
        tag = f"{namespace}/{image}:latest"
        assert on_b[tag] and on_b[tag] == on_a[tag], tag
    assert f"{namespace}/loadgen:latest" not in on_b, "the server engine needs no loadgen"

    again = lab("lab.build", "--target", TARGET, "--server-engine", engine_b,
                "--load-engine", engine_a, tmp_path=tmp_path)
    assert again.returncode == 0 and "go: up to date" in again.stderr, again.stderr[-3000:]


def test_a_sweep_with_servers_on_one_engine_and_load_on_the_other(engine_a, engine_b,
                                                                    tmp_path) -> None:
    done = lab("lab.sweep", "--profile", "quick", "--target", TARGET, "--backend", "docker",
               "--server-engine", engine_b, "--load-engine", engine_a, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = (tmp_path / "results").iterdir()
    backend = json.loads((folder / "run.json").read_text())["backend"]
    assert backend["engines"]["server"]["engine"] == engine_b
    assert backend["engines"]["load"]["engine"] == engine_a
    network = backend["network"]
    assert network["server_address"] == "127.0.0.1" and network["same_host"] is True
    assert 0 < network["round_trip_ms"]["median"] < 50
    points = list((folder / "sweep" / "points").glob("*.json"))
    assert len(points) == 3   # quick: /ping at 64 connections, open loop at 50 and 100 %
    rows = [row for point in points for row in json.loads(point.read_text())["rows"]]
    cpu = [row["value"] for row in rows if row["metric"] == "server_cpu_s"]
    assert len(cpu) == 3 and all(v > 0 for v in cpu), "CPU accounting on the second engine"
    assert all(row["value"] > 0 for row in rows if row["metric"] == "requests_per_s")


def test_ctrl_c_cleans_both_engines(engine_a, engine_b, tmp_path) -> None:
    env = {**os.environ, "LAB_RESULTS_DIR": str(tmp_path / "results")}
    proc = subprocess.Popen([*LAB, "lab.sweep", "--target", TARGET, "--backend", "docker",
                             "--server-engine", engine_b, "--load-engine", engine_a],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    clients = {url: docker.DockerClient(base_url=url) for url in (engine_a, engine_b)}

    def roles() -> dict[str, set[str]]:
        return {url: {c.labels["lab.role"] for c in lab_containers(client)
                      if c.labels.get("lab.owner-pid") == str(proc.pid)}
                for url, client in clients.items()}

    deadline = time.monotonic() + 120
    while not ({"server"} <= roles()[engine_b] and {"load"} <= roles()[engine_a]):
        assert time.monotonic() < deadline and proc.poll() is None, "the sweep never got going"
        time.sleep(0.1)
    assert roles() == {engine_a: {"load", "watcher"}, engine_b: {"server", "watcher"}}
    os.killpg(proc.pid, signal.SIGINT)
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 130, output[-2000:]
    assert roles() == {engine_a: set(), engine_b: set()}, output[-2000:]


def test_lab_all_quick_across_two_engines(engine_a, engine_b, tmp_path) -> None:
    done = lab("lab.all", "--profile", "quick", "--target", TARGET, "--server-engine",
               engine_a, "--load-engine", engine_b, tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (folder,) = (tmp_path / "results").iterdir()
    meta = json.loads((folder / "run.json").read_text())
    assert meta["status"] == "complete"
    assert meta["conformance"][TARGET]["passed"] > 0 and not meta["conformance"][TARGET]["failed"]
    assert meta["backend"]["engines"]["load"]["engine"] == engine_b
    html = (tmp_path / "reports" / folder.name / "index.html").read_text()
    assert "Network path: servers and load generator" in html
    assert "idle round trip, load host to server address" in html
