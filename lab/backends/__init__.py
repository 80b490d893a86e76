"""Where a target runs. Two implementations of one small protocol: native, docker."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from lab.cpus import CpuSets
from lab.targets import Runtime, Target


@dataclass(frozen=True)
class BuildOutcome:
    runtime: str
    seconds: float
    cached: bool = False
    detail: str = ""


@dataclass(frozen=True)
class LoadRun:
    """One finished load-generator process."""

    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float
    wall_seconds: float


@dataclass(frozen=True)
class ProgramRun:
    """One finished (or deadline-killed) program of a runtime, e.g. a semantics probe."""

    returncode: int | None      # None when the deadline killed it
    stdout: str
    stderr: str
    wall_seconds: float
    timed_out: bool


class Server(Protocol):
    target: Target
    host: str
    port: int
    knobs: dict[str, str]

    def log_tail(self, lines: int = 30) -> str: ...

    def alive(self) -> bool:
        """Still starting or running (False once it has exited)."""

    def host_pid(self) -> int:
        """The server's first process as the host sees it (tests inspect its children)."""

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the server and its children."""

    def memory_bytes(self) -> int | None:
        """Anonymous resident memory of the whole target (every process; a page shared by
        several processes counted once), in bytes; None where it cannot be read."""

    def descriptors(self) -> int | None:
        """Open file descriptors of the whole target (None where they cannot be counted)."""

    def descriptor_limit(self) -> int | None:
        """The server's soft limit of open descriptors (RLIMIT_NOFILE)."""

    def send_signal(self, signum: int) -> None: ...

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status once the server has exited, or None after timeout seconds."""

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a grace period; the exit status."""


class Backend(Protocol):
    name: str
    cpus: CpuSets
    run_id: str   # the run being measured ("adhoc" outside a run): labels what it starts

    def build(self, runtime: Runtime, *, force: bool = False) -> BuildOutcome: ...

    def build_loadgen(self, *, force: bool = False) -> BuildOutcome: ...

    def serve(self, target: Target, *, knobs: dict[str, str] | None = None,
              port: int | None = None, ready_timeout: float | None = None,
              cpus: Sequence[int] | None = None) -> AbstractContextManager[Server]:
        """Start a target, wait for /ping, yield it; stop it on exit, whatever happened.

        cpus: the server's CPU set for this start (default: cpus.server)."""

    def loadgen_paths(self) -> dict[str, str]:
        """Paths of 'wrk', 'wrk_script' and 'pacer' as the load process sees them."""

    def run_load(self, argv: list[str], *, timeout: float) -> LoadRun:
        """Run a load generator on the load CPUs, bounded by timeout seconds."""

    def run_program(self, runtime: Runtime, argv: Sequence[str], *,
                    env: dict[str, str] | None = None, timeout: float) -> ProgramRun:
        """Run a program of a runtime (from its folder, or /app in its image) on the server
        CPUs, like a server ("{python}" = the interpreter); kill it after timeout seconds."""

    def toolchain_version(self, runtime: Runtime) -> str: ...

    def close(self) -> None:
        """Release what the backend keeps between calls (the docker load container)."""

    def describe(self) -> dict[str, object]:
        """What results record about this backend (engine version, image ids, ...)."""
