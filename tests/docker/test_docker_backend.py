"""The docker backend: hardened containers, cached builds, cleanup after Ctrl-C, air-gapped base."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from lab import ROOT
from lab.backends.docker_base import ensure_base_image
from lab.clean import lab_containers
from lab.probe import ping
from lab.targets import select
from tests.conformance.rawhttp import Connection


@pytest.fixture(scope="module")
def go(docker_backend):
    target = select("go/goroutines")[0]
    docker_backend.build(target.runtime)
    return target


def test_server_cpu_seconds_are_the_containers_cgroup_accounting(docker_backend, go) -> None:
    with docker_backend.serve(go) as server:
        before = server.cpu_seconds()
        with Connection(server.host, server.port) as conn:
            assert conn.request("/cpu?ms=300").status == 200
        used = server.cpu_seconds() - before
        stats = server.container.stats(stream=False)["cpu_stats"]["cpu_usage"]["total_usage"]
        assert 0.29 < used < 0.6, used
        assert abs(server.cpu_seconds() - stats / 1e9) < 0.05


def test_a_server_container_is_hardened_and_pinned(docker_backend, go) -> None:
    with docker_backend.serve(go) as server:
        attrs = server.container.attrs
        host = attrs["HostConfig"]
        assert attrs["Config"]["User"] == "10001:10001"
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["NetworkMode"] == "host"
        assert host["CpusetCpus"] == docker_backend.cpus.server_list
        assert host["Memory"] > 0
        assert {u["Name"] for u in host["Ulimits"]} == {"nofile"}
        labels = attrs["Config"]["Labels"]
        assert labels["lab.project"] == "async-runtime-lab"
        assert labels["lab.role"] == "server" and labels["lab.target"] == "go/goroutines"
        # What the process really gets, seen from inside.
        uid = server.container.exec_run(["id", "-u"]).output.decode().strip()
        assert uid == "10001"
        write = server.container.exec_run(["sh", "-c", "echo x > /probe"])
        assert write.exit_code != 0 and b"Read-only file system" in write.output
        caps = server.container.exec_run(["grep", "CapEff", "/proc/1/status"]).output.decode()
        assert caps.split()[-1] == "0000000000000000"
        assert ping(server.host, server.port)


def test_an_unchanged_runtime_is_not_rebuilt(docker_backend, go) -> None:
    started = time.monotonic()
    outcome = docker_backend.build(go.runtime)
    assert outcome.cached
    assert time.monotonic() - started < 10


def test_load_runs_in_a_pinned_container_and_reports_its_cpu(docker_backend, go) -> None:
    docker_backend.build_loadgen()
    with docker_backend.serve(go) as server:
        run = docker_backend.run_load(
            ["wrk", "-t1", "-c8", "-d1s", f"http://127.0.0.1:{server.port}/ping"], timeout=20)
    assert run.returncode == 0 and "Requests/sec" in run.stdout
    assert 0.05 < run.cpu_seconds < 2.5


def lab_container_ids(docker_backend) -> set[str]:
    return {c.id for c in lab_containers(docker_backend.client)}


def test_ctrl_c_leaves_no_labelled_container(docker_backend, go) -> None:
    before = lab_container_ids(docker_backend)
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "lab.serve", "go/goroutines",
                             "--backend", "docker"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while not (lab_container_ids(docker_backend) - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    started = lab_container_ids(docker_backend) - before
    assert started, "lab.serve never started a container"
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)
    output = proc.communicate(timeout=60)[0].decode()
    assert not (lab_container_ids(docker_backend) & started), output[-2000:]


def test_the_base_image_is_bootstrapped_when_it_cannot_be_pulled(docker_backend) -> None:
    """The air-gapped path: debootstrap + docker import, under a throwaway tag."""
    name = "async-runtime-lab-test/debian:trixie-slim"
    client = docker_backend.client
    messages: list[str] = []
    try:
        image_id, how = ensure_base_image(client, messages.append, name=name)
        assert how in ("debootstrap", "pulled")
        if how == "debootstrap":
            assert any("debootstrap" in m for m in messages)
        image = client.images.get(name)
        assert image.id == image_id and image.labels["lab.role"] == "base"
        out = client.containers.run(name, ["sh", "-c", ". /etc/os-release; echo $VERSION_CODENAME"],
                                    remove=True)
        assert out.decode().strip() == "trixie"
        assert ensure_base_image(client, messages.append, name=name) == (image_id, "present")
    finally:
        if client.images.list(name=name):
            client.images.remove(name, force=True)
