"""A container's CPU time. For an engine on this machine: its cgroup's accounting file,
found through its first process (/proc/PID/cgroup), whatever the engine's cgroup driver
or parent (cgroup v1 cpuacct.usage in ns, v2 cpu.stat usage_usec); reading it takes
microseconds. For an engine elsewhere: the engine's stats API (0.4-1 s per call).
"""

from __future__ import annotations

from pathlib import Path

from docker.models.containers import Container

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_cpu_file(pid: int, container_id: str) -> Path | None:
    """The accounting file of the cgroup process pid is in, if it is container_id's."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    unified = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if container_id not in path:  # another pid namespace: not the container's process
            continue
        if "cpuacct" in controllers.split(","):
            file = CGROUP_ROOT / "cpuacct" / path.lstrip("/") / "cpuacct.usage"
            if file.exists():
                return file
        elif controllers == "":
            unified = CGROUP_ROOT / path.lstrip("/") / "cpu.stat"
    return unified if unified is not None and unified.exists() else None


def read_cpu_file(path: Path) -> float:
    text = path.read_text()
    if path.name == "cpu.stat":
        fields = dict(line.split() for line in text.splitlines())
        return int(fields["usage_usec"]) / 1e6
    return int(text) / 1e9


class CpuMeter:
    """CPU seconds used so far by one container (and everything in it)."""

    def __init__(self, container: Container, local: bool) -> None:
        self.container = container
        self.local = local
        self._file: Path | None = None

    def __call__(self) -> float:
        if self.local:
            self.local = False  # look once
            self.container.reload()
            self._file = cgroup_cpu_file(self.container.attrs["State"]["Pid"],
                                         self.container.id)
        if self._file is not None:
            try:
                return read_cpu_file(self._file)
            except OSError:  # the cgroup is gone with the container
                pass
        stats = self.container.stats(stream=False, one_shot=True)
        return stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
