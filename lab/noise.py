"""What could have disturbed a measurement, recorded beside it.

Per point: *foreign* CPU time on the server's and on the load generator's CPUs, steal
time and the load average. Foreign CPU is the CPUs' busy time in /proc/stat (user, nice,
system) minus the CPU time of the lab's own processes that run there: the server (its
container's cgroup or its process group) on the server's CPUs; the load generator and the
orchestrator itself (pinned to the load CPUs by `pinned`) on the load CPUs. Interrupt time
(irq, softirq) is left out of both sides: the kernel charges loopback networking there, to
no process. A Docker engine's own daemons are not pinned, so work they do for the lab
(e.g. a `docker exec`) counts as foreign wherever it lands.

Per run: frequency governor, SMT siblings of the chosen CPUs, kernel, virtualisation and
the container runtime (`environment`).
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.cpus import CpuSets, format_cpu_list, parse_cpu_list

CLOCK_TICK = os.sysconf("SC_CLK_TCK")
# A point is noisy when other processes used more than this share of the server's CPUs
# while it ran: they took that much from the server, so its results may be that much low.
NOISY_FOREIGN_SHARE = 0.05
NOISE_METRICS = {"foreign_cpu_server_s": "s", "foreign_cpu_server_share": "ratio",
                 "foreign_cpu_load_s": "s", "steal_server_s": "s", "steal_load_s": "s",
                 "loadavg_1m": "load"}
SYS_CPU = Path("/sys/devices/system/cpu")


@dataclass(frozen=True)
class CpuTimes:
    """Seconds a set of CPUs spent busy (user + nice + system) and stolen by a hypervisor."""

    busy: float
    steal: float


def cpu_times(cpus: Sequence[int], stat: str | None = None) -> CpuTimes:
    """Summed over cpus, from /proc/stat (or the text given)."""
    text = stat if stat is not None else Path("/proc/stat").read_text()
    wanted = {f"cpu{c}" for c in cpus}
    busy = steal = 0
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] in wanted:
            # user nice system idle iowait irq softirq steal ...
            values = [int(v) for v in fields[1:9]]
            busy += values[0] + values[1] + values[2]
            steal += values[7]
    return CpuTimes(busy / CLOCK_TICK, steal / CLOCK_TICK)


def own_cpu_seconds() -> float:
    """CPU seconds of this process (every thread): the orchestrator."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class PointNoise:
    wall_s: float
    server_cpus: int
    foreign_cpu_server_s: float
    foreign_cpu_load_s: float
    steal_server_s: float
    steal_load_s: float
    loadavg_1m: float

    @property
    def foreign_cpu_server_share(self) -> float:
        return self.foreign_cpu_server_s / max(self.wall_s * self.server_cpus, 1e-9)

    @property
    def noisy(self) -> bool:
        return self.foreign_cpu_server_share > NOISY_FOREIGN_SHARE

    def metrics(self) -> dict[str, float]:
        """NOISE_METRICS -> value, the tidy rows of a point."""
        return {name: round(float(getattr(self, name)), 4) for name in NOISE_METRICS}


class PointMeter:
    """Snapshots around one point: start() before it, stop(...) after it."""

    def __init__(self, cpus: CpuSets, server_cpu_seconds) -> None:
        self.cpus = cpus
        self.server_cpu_seconds = server_cpu_seconds

    def _snapshot(self) -> tuple[float, CpuTimes, CpuTimes, float, float]:
        stat = Path("/proc/stat").read_text()
        return (time.monotonic(), cpu_times(self.cpus.server, stat),
                cpu_times(self.cpus.load, stat), self.server_cpu_seconds(), own_cpu_seconds())

    def start(self) -> None:
        self.before = self._snapshot()

    def stop(self, generator_cpu_s: float) -> PointNoise:
        """generator_cpu_s: what the load generator used during the point (its own count)."""
        t0, server0, load0, srv0, own0 = self.before
        t1, server1, load1, srv1, own1 = self._snapshot()
        foreign_server = (server1.busy - server0.busy) - (srv1 - srv0)
        foreign_load = (load1.busy - load0.busy) - generator_cpu_s - (own1 - own0)
        # Clock-tick accounting can leave a few ms below zero: none is none.
        return PointNoise(t1 - t0, len(self.cpus.server), max(0.0, foreign_server),
                          max(0.0, foreign_load), server1.steal - server0.steal,
                          load1.steal - load0.steal, os.getloadavg()[0])


@contextlib.contextmanager
def pinned(cpus: Sequence[int]) -> Iterator[None]:
    """Pin every thread of this process to cpus (the load CPUs) for a while; restore after.

    Threads started meanwhile inherit the mask. sched_setaffinity(0) would move only the
    calling thread, so each thread of /proc/self/task is moved.
    """
    tasks = [int(t) for t in os.listdir("/proc/self/task")]
    before = {t: os.sched_getaffinity(t) for t in tasks}
    for task in tasks:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(task, cpus)
    try:
        yield
    finally:
        for task in [int(t) for t in os.listdir("/proc/self/task")]:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(task, before.get(task, before[os.getpid()]))


# -- per run ------------------------------------------------------------------------

def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def siblings(cpu: int) -> tuple[int, ...]:
    """The hardware threads sharing cpu's core (cpu alone when SMT is off or unknown)."""
    text = _read(SYS_CPU / f"cpu{cpu}" / "topology" / "thread_siblings_list")
    return parse_cpu_list(text) if text else (cpu,)


def governors(cpus: Sequence[int]) -> dict[str, str]:
    return {str(c): _read(SYS_CPU / f"cpu{c}" / "cpufreq" / "scaling_governor")
            or "unavailable (no cpufreq: typical of a VM or container)" for c in cpus}


def virtualisation() -> str:
    if shutil.which("systemd-detect-virt"):
        found = subprocess.run(["systemd-detect-virt"], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True)
        return found.stdout.strip() or "none"
    flags = _read(Path("/proc/cpuinfo")) or ""
    return "a hypervisor (cpuinfo flag)" if " hypervisor" in flags else "unknown"


def container_runtime(client: object | None) -> dict[str, object]:
    """The Docker engine's runtime facts (runc, cgroup version), or none for native."""
    if client is None or not hasattr(client, "info"):
        return {"name": "none (native processes)"}
    try:
        info = client.info()  # type: ignore[attr-defined]
    except Exception as exc:  # an engine that stopped answering must not stop the run
        return {"name": "unknown", "error": str(exc)}
    runc = (info.get("RuncCommit") or {}).get("ID")
    return {"name": info.get("DefaultRuntime"), "runc_commit": runc,
            "cgroup_version": info.get("CgroupVersion"),
            "cgroup_driver": info.get("CgroupDriver"),
            "engine_kernel": info.get("KernelVersion"),
            "engine_os": info.get("OperatingSystem")}


def environment(cpus: CpuSets, engine_client: object | None = None) -> dict[str, object]:
    """Per-run facts that change what a measurement means (run.json 'noise')."""
    chosen = sorted(set(cpus.server) | set(cpus.load))
    sibling_sets = {str(c): format_cpu_list(siblings(c)) for c in chosen}
    shared = sorted({(s, load) for s in cpus.server for load in cpus.load
                     if load in siblings(s)})
    return {"governors": governors(chosen), "smt_siblings": sibling_sets,
            "server_and_load_share_a_core": bool(shared),
            "kernel": platform.release(), "virtualisation": virtualisation(),
            "container_runtime": container_runtime(engine_client),
            "noisy_foreign_share": NOISY_FOREIGN_SHARE}
