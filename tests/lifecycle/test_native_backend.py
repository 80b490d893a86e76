"""The native backend's lifecycle with real processes: start, fail clearly, always clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import ROOT
from lab.backends.native import NativeBackend, proc_stat
from lab.cpus import default_cpu_sets
from lab.errors import LabError, ServerStartError
from lab.probe import ping
from lab.targets import discover, load_runtime
from tests.deployments import Deployment, ensure_built

TOY = """
name = "toy"
description = "test servers"
toolchain = ["true"]

[models.dies]
description = "exits at once with a message"
command = ["{python}", "-c", "import sys; print('cannot bind: toy failure'); sys.exit(3)"]
executors = 1
kind = "event-loop"
readiness = "blocking"
mechanism = "a test server"

[models.silent]
description = "runs but never answers"
command = ["{python}", "-c", "import time; time.sleep(60)"]
executors = 1
kind = "event-loop"
readiness = "blocking"
mechanism = "a test server"

[models.family]
description = "a parent with a child, both ignoring SIGTERM"
command = ["{python}", "-c", '''
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.fork()
time.sleep(60)''']
executors = 1
kind = "event-loop"
readiness = "blocking"
mechanism = "a test server"
"""


@pytest.fixture(scope="module")
def backend() -> NativeBackend:
    return NativeBackend(default_cpu_sets())


@pytest.fixture
def toy(tmp_path: Path) -> dict:
    folder = tmp_path / "runtimes" / "toy"
    folder.mkdir(parents=True)
    (folder / "runtime.toml").write_text(TOY)
    _, targets = load_runtime(folder / "runtime.toml")
    return {t.model: t for t in targets}


def alive(pid: int) -> bool:
    fields = proc_stat(pid)
    return fields is not None and fields[0] != "Z"


def test_a_server_that_exits_shows_its_log(backend, toy) -> None:
    with pytest.raises(ServerStartError) as failure, backend.serve(toy["dies"]):
        pass
    assert "exited with status 3" in failure.value.message
    assert "cannot bind: toy failure" in failure.value.detail


def test_a_server_that_never_answers_times_out_and_is_stopped(backend, toy) -> None:
    with pytest.raises(ServerStartError, match="did not answer /ping within 1 s"), \
            backend.serve(toy["silent"], ready_timeout=1):
        pass


def test_children_ignoring_sigterm_are_killed_with_their_group(backend, toy, monkeypatch) -> None:
    monkeypatch.setattr("lab.backends.native.STOP_GRACE_SECONDS", 0.5)
    monkeypatch.setattr("lab.backends.serving.wait_until_ready", lambda *a, **k: True)
    with backend.serve(toy["family"]) as server:
        time.sleep(0.3)
        group = [int(p) for p in os.listdir("/proc") if p.isdigit()
                 and Path(f"/proc/{p}/stat").exists()
                 and Path(f"/proc/{p}/stat").read_text().split(")")[-1].split()[2]
                 == str(server.host_pid())]
        assert len(group) == 2
    time.sleep(0.2)
    assert not any(alive(pid) for pid in group)


def test_an_exception_inside_serve_stops_the_server(backend) -> None:
    target = next(t for t in discover() if t.name == "go/goroutines")
    backend.build(target.runtime)
    with pytest.raises(RuntimeError), backend.serve(target) as server:
        pid, port = server.host_pid(), server.port
        assert ping(server.host, port)
        raise RuntimeError("boom")
    assert not alive(pid)
    assert not ping("127.0.0.1", port, timeout=0.5)


def test_a_busy_port_is_a_clear_error(backend) -> None:
    target = next(t for t in discover() if t.name == "go/goroutines")
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(LabError, match=f"port {port} is already in use"), \
                backend.serve(target, port=port):
            pass


def test_unknown_knobs_are_refused(backend) -> None:
    target = next(t for t in discover() if t.name == "go/goroutines")
    with pytest.raises(LabError, match="has no knobs"), backend.serve(target, knobs={"X": "1"}):
        pass


def parent_of(pid: int) -> int:
    fields = proc_stat(pid)
    return int(fields[1]) if fields else 0


def go_servers_under(ancestor: int) -> set[int]:
    """The live go/goroutines servers descended from ancestor (not other runs' servers)."""
    pids = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"build/lab-go" not in cmdline or not alive(int(entry)):
            continue
        pid = int(entry)
        while pid > 1 and pid != ancestor:
            pid = parent_of(pid)
        if pid == ancestor:
            pids.add(int(entry))
    return pids


def interrupt(proc: subprocess.Popen) -> str:
    """Ctrl-C as a terminal sends it (to the whole process group); the task's output."""
    os.killpg(proc.pid, signal.SIGINT)
    return proc.communicate(timeout=30)[0].decode()


def start_verify() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", "lab.verify", "--target", "go/goroutines",
         "--backend", "native"], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture
def verify_go() -> Iterator[subprocess.Popen]:
    """lab.verify on go/goroutines (built beforehand: the test times serving, not building)."""
    ensure_built(Deployment("native", "go/goroutines"))
    proc = start_verify()
    yield proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("after_start_s", [0.0, 1.0], ids=["while-starting", "mid-suite"])
def test_ctrl_c_during_verify_leaves_no_server_behind(verify_go, after_start_s: float) -> None:
    deadline = time.monotonic() + 60
    while not go_servers_under(verify_go.pid) and time.monotonic() < deadline:
        if verify_go.poll() is not None:
            pytest.fail("lab.verify ended before starting a server:\n"
                        + verify_go.communicate()[0].decode()[-2000:])
        time.sleep(0.05)
    started = go_servers_under(verify_go.pid)
    assert started, "lab.verify started no server within 60 s:\n" + interrupt(verify_go)[-2000:]
    time.sleep(after_start_s)  # mid-suite: pytest has passed cases, which must not read as PASS
    output = interrupt(verify_go)
    assert verify_go.returncode == 130, output[-2000:]
    assert "interrupted" in output
    time.sleep(0.5)
    assert not any(alive(pid) for pid in started), f"servers left behind\n{output[-2000:]}"


def cpu_seconds(pid: int) -> float:
    fields = proc_stat(pid)
    if fields is None:  # it has just exited
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ctrl_c_while_the_tasks_load_exits_130() -> None:
    """Before a task's body runs nothing has started: Ctrl-C says so and exits 130 (invoke
    alone exits 1 without a word, Python with a traceback)."""
    proc = start_verify()
    # Python and invoke load in about 0.2 s of CPU, tasks.py in 0.5 s more: 0.4 s of CPU
    # (not of wall time, which a loaded machine stretches) lands while tasks.py loads.
    while proc.poll() is None and cpu_seconds(proc.pid) < 0.4:
        time.sleep(0.01)
    output = interrupt(proc)
    assert proc.returncode == 130, output
    assert "interrupted" in output
