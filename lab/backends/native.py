"""The native backend: targets run as processes on this machine, pinned with taskset.

Each server gets its own session (process group), so children of multi-process
models are found and stopped with it, and PR_SET_PDEATHSIG so that it dies with
the lab even if the lab itself is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from lab import LOADGEN_DIR, ROOT, cleanup
from lab.backends import BuildOutcome, LoadRun, ProgramRun
from lab.backends.serving import serving
from lab.cpus import CpuSets, server_cpu_list
from lab.errors import BuildError, LabError
from lab.targets import PYTHON_PLACEHOLDER, Runtime, Target

STOP_GRACE_SECONDS = 3.0
READY_TIMEOUT_SECONDS = 15.0
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TERM")
_PR_SET_PDEATHSIG = 1
NOFILE = 65536


def _prepare_child() -> None:
    """Runs in the child before exec: die with the lab, and allow many descriptors."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)  # when the lab's starting thread dies
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else NOFILE
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, NOFILE), hard))


def server_env(host: str, port: int, knobs: dict[str, str]) -> dict[str, str]:
    """A small, explicit environment: the host's knobs (GOMAXPROCS...) must not leak in."""
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update({"HOST": host, "PORT": str(port), "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(knobs)
    return env


def proc_stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (None: no such process): state(0)
    ppid(1) pgrp(2) ... utime(11) stime(12) cutime(13) cstime(14)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; it ends at the last ')'.
    return text[text.rindex(")") + 2:].split()


def _process_group(pgid: int) -> Iterator[tuple[int, list[str]]]:
    """(pid, /proc/PID/stat fields after the name) of every live process in a group."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = proc_stat(int(entry.name))
        if fields and int(fields[2]) == pgid:
            yield int(entry.name), fields


def process_group_cpu_seconds(pgid: int) -> float:
    """CPU seconds of every live process in a group, plus the children they reaped.

    A live process's own time comes from its POSIX CPU clock (clock_getcpuclockid: every
    thread, living or exited, in ns; any process may read it), not from /proc/PID/stat,
    whose 10 ms ticks are too coarse for the CPU of a few hundred requests. Reaped
    children's time exists only in ticks."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid, fields in _process_group(pgid):
        try:
            own = time.clock_gettime_ns(((~pid) << 3) | 2) / 1e9  # the process's CPU clock
        except OSError:  # it has just exited
            own = (int(fields[11]) + int(fields[12])) / tick
        total += own + (int(fields[13]) + int(fields[14])) / tick
    return total


def process_group_memory(pgid: int) -> int | None:
    """Anonymous resident memory of a process group in bytes: the sum of each process's
    proportional share (Pss_Anon), so that pages forked children still share with their
    parent count once, as in a container's cgroup (docker_cpu.MemoryMeter)."""
    total, found = 0, False
    for pid, _ in _process_group(pgid):
        try:
            lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:  # it has just exited
            continue
        for line in lines:
            if line.startswith("Pss_Anon:"):
                total, found = total + int(line.split()[1]) * 1024, True
    return total if found else None


def process_group_descriptors(pgid: int) -> int:
    """Open file descriptors of every process in a group."""
    count = 0
    for pid, _ in _process_group(pgid):
        with contextlib.suppress(OSError):
            count += len(os.listdir(f"/proc/{pid}/fd"))
    return count


def descriptor_limit(pid: int) -> int | None:
    """The soft RLIMIT_NOFILE of a process (None: unlimited or gone)."""
    try:
        lines = Path(f"/proc/{pid}/limits").read_text().splitlines()
    except OSError:
        return None
    soft = next((line.split()[3] for line in lines if line.startswith("Max open files")), "")
    return int(soft) if soft.isdigit() else None


def _kill_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


class NativeServer:
    def __init__(self, target: Target, proc: subprocess.Popen, host: str, port: int,
                 knobs: dict[str, str], log_path: Path) -> None:
        self.target = target
        self.proc = proc
        self.host = host
        self.port = port
        self.knobs = knobs
        self.log_path = log_path

    def host_pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cpu_seconds(self) -> float:
        return process_group_cpu_seconds(self.proc.pid)

    def memory_bytes(self) -> int | None:
        return process_group_memory(self.proc.pid)

    def descriptors(self) -> int | None:
        return process_group_descriptors(self.proc.pid)

    def descriptor_limit(self) -> int | None:
        return descriptor_limit(self.proc.pid)

    def send_signal(self, signum: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> int | None:
        self.send_signal(signal.SIGTERM)
        status = self.wait_exit(STOP_GRACE_SECONDS)
        if status is None:
            _kill_group(self.proc.pid, signal.SIGKILL)
            status = self.wait_exit(STOP_GRACE_SECONDS)
        _kill_group(self.proc.pid, signal.SIGKILL)  # children the target failed to stop
        return status


class NativeBackend:
    name = "native"

    def __init__(self, cpus: CpuSets, run_id: str = "adhoc") -> None:
        self.cpus = cpus
        self.run_id = run_id
        self.log_dir = Path(tempfile.mkdtemp(prefix="lab-native-logs-"))

    # -- building ---------------------------------------------------------------
    def _run_step(self, argv: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
        if shutil.which(argv[0]) is None and not (cwd / argv[0]).exists():
            raise BuildError(f"{what}: '{argv[0]}' is not installed",
                             hint=f"install the {what} toolchain, or use --backend docker")
        result = subprocess.run(argv, cwd=cwd, env={**os.environ, **env},
                                stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()
            raise BuildError(f"{what}: `{' '.join(argv)}` failed (exit {result.returncode})",
                             detail="\n".join(output[-40:]),
                             hint="fix the error above; `uv run invoke lab.doctor` checks "
                                  "toolchains")

    def build(self, runtime: Runtime, *, force: bool = False) -> BuildOutcome:
        started = time.monotonic()
        for step in runtime.build_steps:
            argv = [sys.executable if p == "{python}" else p for p in step]
            self._run_step(argv, runtime.folder, runtime.build_env, runtime.name)
        return BuildOutcome(runtime.name, time.monotonic() - started,
                            cached=not runtime.build_steps)

    def build_loadgen(self, *, force: bool = False) -> BuildOutcome:
        started = time.monotonic()
        # Without wrk, closed-loop measurements use the pacer's closed mode
        # (lab.loadgen.closed_loop_tool), and their results say so.
        self._run_step(["go", "build", "-o", str(LOADGEN_DIR / "build" / "pacer"), "."],
                       LOADGEN_DIR / "pacer", {"GOTOOLCHAIN": "local", "CGO_ENABLED": "0"},
                       "loadgen (pacer)")
        return BuildOutcome("loadgen", time.monotonic() - started)

    # -- serving ----------------------------------------------------------------
    def serve(self, target: Target, *, knobs: dict[str, str] | None = None,
              port: int | None = None, ready_timeout: float | None = None,
              cpus: Sequence[int] | None = None) -> AbstractContextManager[NativeServer]:
        # The backend's own CPUs, not this process's mask: the lab pins itself to the load
        # CPUs while it measures, and a server may borrow one of them (lab.cpus.cpu_levels).
        cpu_list = server_cpu_list(self.cpus, cpus, self.cpus.server + self.cpus.load)
        return serving(self.name, target, knobs, port, ready_timeout or READY_TIMEOUT_SECONDS,
                       lambda port, knobs: self._start(target, port, knobs, cpu_list))

    def _start(self, target: Target, port: int, knobs: dict[str, str],
               cpu_list: str) -> NativeServer:
        host = "127.0.0.1"
        log_path = self.log_dir / f"{target.name.replace('/', '-')}-{port}.log"
        argv = ["taskset", "-c", cpu_list, *target.command_with(sys.executable)]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, cwd=target.runtime.folder,
                                    env=server_env(host, port, knobs),
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_prepare_child)
        return NativeServer(target, proc, host, port, knobs, log_path)

    # -- load -------------------------------------------------------------------
    def loadgen_paths(self) -> dict[str, str]:
        return {
            "wrk": "wrk",
            "wrk_script": str(LOADGEN_DIR / "wrk" / "report.lua"),
            "pacer": str(LOADGEN_DIR / "build" / "pacer"),
        }

    def run_load(self, argv: list[str], *, timeout: float) -> LoadRun:
        started = time.monotonic()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(["taskset", "-c", self.cpus.load_list, *argv],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True, preexec_fn=_prepare_child)
            key = cleanup.register(lambda: _kill_group(proc.pid, signal.SIGKILL))
            try:
                status, usage = _wait4(proc.pid, started + timeout)
            finally:
                _kill_group(proc.pid, signal.SIGKILL)
                cleanup.unregister(key)
            proc.returncode = status
            out.seek(0)
            err.seek(0)
            return LoadRun(status, out.read().decode(errors="replace"),
                           err.read().decode(errors="replace"),
                           usage.ru_utime + usage.ru_stime if usage else 0.0,
                           time.monotonic() - started)

    # -- programs ---------------------------------------------------------------
    def run_program(self, runtime: Runtime, argv: Sequence[str], *,
                    env: dict[str, str] | None = None, timeout: float) -> ProgramRun:
        argv = [sys.executable if part == PYTHON_PLACEHOLDER else part for part in argv]
        found = (runtime.folder / argv[0]).exists() if "/" in argv[0] else shutil.which(argv[0])
        if not found:
            raise LabError(f"{runtime.name}: '{argv[0]}' is not there to run",
                           hint=f"build it: uv run invoke lab.build --target {runtime.name} "
                                "--backend native")
        program_env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        program_env.update({"PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
        started = time.monotonic()
        proc = subprocess.Popen(["taskset", "-c", self.cpus.server_list, *argv],
                                cwd=runtime.folder, env=program_env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, preexec_fn=_prepare_child)
        key = cleanup.register(lambda: _kill_group(proc.pid, signal.SIGKILL))
        timed_out = False
        try:
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
        finally:
            _kill_group(proc.pid, signal.SIGKILL)  # anything it left behind
            cleanup.unregister(key)
        return ProgramRun(None if timed_out else proc.returncode, out.decode(errors="replace"),
                          err.decode(errors="replace"), time.monotonic() - started, timed_out)

    def toolchain_version(self, runtime: Runtime) -> str:
        try:
            out = _run_toolchain(runtime)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"unavailable ({exc})"
        return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 \
            else f"unavailable (exit {out.returncode})"

    def close(self) -> None:
        """Nothing outlives what native runs start; logs stay for inspection."""

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "cpus": self.cpus.as_record(), "root": str(ROOT)}


def _run_toolchain(runtime: Runtime) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable if p == PYTHON_PLACEHOLDER else p for p in runtime.toolchain]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=30, cwd=runtime.folder)


def toolchain_problem(runtime: Runtime) -> str | None:
    """Why the runtime's native toolchain cannot be used here (None: it can).

    Missing from PATH, or its `toolchain` command fails (e.g. java's, when no JDK 21+ is
    found): then the command's own words say what is missing.
    """
    tool = runtime.toolchain[0]
    if tool != PYTHON_PLACEHOLDER and shutil.which(tool) is None:
        return f"native toolchain '{tool}' for {runtime.name} is not installed"
    try:
        out = _run_toolchain(runtime)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"native toolchain of {runtime.name} does not run: {exc}"
    if out.returncode == 0:
        return None
    said = " ".join((out.stderr or out.stdout).split())
    return said or f"`{' '.join(runtime.toolchain)}` exited with status {out.returncode}"


def _wait4(pid: int, deadline: float) -> tuple[int, os.struct_rusage | None]:
    """Wait for a child until deadline (then kill it); its status and its own rusage."""
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), usage
        if time.monotonic() > deadline:
            _kill_group(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            return -signal.SIGKILL, usage
        time.sleep(0.02)
