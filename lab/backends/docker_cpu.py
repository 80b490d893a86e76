"""A container's CPU time and memory. For an engine on this machine: its cgroup's
accounting files, found through its first process (/proc/PID/cgroup), whatever the engine's
cgroup driver or parent (cgroup v1 cpuacct.usage in ns, v2 cpu.stat usage_usec; memory.stat
in both); reading them takes microseconds. For an engine elsewhere: the engine's stats API
(0.4-1 s per call).

Memory is the cgroup's anonymous memory (memory.stat: v1 total_rss, v2 anon): the heap,
stacks and private data of every process in the container, each page counted once however
many processes share it (fork's copy-on-write pages). Not memory.usage_in_bytes or
memory.current, which also count the page cache (files read, the image's included: what
else ran before decides whose cgroup a cached page is charged to) and, on cgroup v2, kernel
memory such as socket buffers: the counter is the one the native backend reads from
/proc (Pss_Anon), so that both backends measure the same thing.
"""

from __future__ import annotations

from pathlib import Path

from docker.models.containers import Container

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_file(pid: int, container_id: str, controller: str, v1_name: str,
                v2_name: str) -> Path | None:
    """A file of the cgroup process pid is in, if it is container_id's: v1_name under the
    v1 controller's hierarchy, else v2_name in the unified one."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    unified = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if container_id not in path:  # another pid namespace: not the container's process
            continue
        if controller in controllers.split(","):
            file = CGROUP_ROOT / controller / path.lstrip("/") / v1_name
            if file.exists():
                return file
        elif controllers == "":
            unified = CGROUP_ROOT / path.lstrip("/") / v2_name
    return unified if unified is not None and unified.exists() else None


def cgroup_cpu_file(pid: int, container_id: str) -> Path | None:
    """The CPU accounting file of the cgroup process pid is in, if it is container_id's."""
    return cgroup_file(pid, container_id, "cpuacct", "cpuacct.usage", "cpu.stat")


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


# memory.stat's anonymous memory: cgroup v1 (hierarchical total), v2
ANON_KEYS = ("total_rss", "anon")


def anon_bytes(stats: dict) -> int | None:
    """The anonymous memory in a memory.stat mapping (from the file or the stats API)."""
    return next((int(stats[k]) for k in ANON_KEYS if k in stats), None)


class MemoryMeter:
    """Anonymous memory of one container (every process in it), in bytes."""

    def __init__(self, container: Container, local: bool) -> None:
        self.container = container
        self.local = local
        self._file: Path | None = None

    def __call__(self) -> int | None:
        if self.local:
            self.local = False  # look once
            self.container.reload()
            self._file = cgroup_file(self.container.attrs["State"]["Pid"], self.container.id,
                                     "memory", "memory.stat", "memory.stat")
        if self._file is not None:
            try:
                return anon_bytes(dict(line.split() for line in
                                       self._file.read_text().splitlines()))
            except OSError:  # the cgroup is gone with the container
                return None
        stats = self.container.stats(stream=False, one_shot=True)
        return anon_bytes(stats.get("memory_stats", {}).get("stats", {}))
