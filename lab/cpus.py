"""CPU sets: the server and the load generator run on disjoint CPUs.

Defaults split the CPUs this process may use: the lower half for the load
generator, the upper half for the server (on 2 cores: load on 0, server on 1).
LAB_SERVER_CPUS and LAB_LOAD_CPUS (taskset syntax, e.g. "1" or "2-3") override them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from lab.errors import LabError


def parse_cpu_list(text: str) -> tuple[int, ...]:
    """Parse '0-2,5' into (0, 1, 2, 5); an error names the bad part."""
    cpus: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise LabError(f"bad CPU list '{text}': '{part}' is not N or N-M",
                           hint="use taskset syntax, e.g. 1 or 0-1,3")
        first, last = int(lo), int(hi or lo)
        if last < first:
            raise LabError(f"bad CPU list '{text}': range '{part}' is reversed")
        cpus.update(range(first, last + 1))
    if not cpus:
        raise LabError(f"empty CPU list '{text}'")
    return tuple(sorted(cpus))


def format_cpu_list(cpus: tuple[int, ...]) -> str:
    return ",".join(str(c) for c in cpus)


@dataclass(frozen=True)
class CpuSets:
    server: tuple[int, ...]
    load: tuple[int, ...]

    @property
    def server_list(self) -> str:
        return format_cpu_list(self.server)

    @property
    def load_list(self) -> str:
        return format_cpu_list(self.load)

    def as_record(self) -> dict[str, str]:
        return {"server": self.server_list, "load": self.load_list}


def server_cpu_list(sets: CpuSets, cpus: Sequence[int] | None,
                    machine: Sequence[int] | None = None) -> str:
    """The taskset/cpuset list for one server start: `cpus`, or the backend's server CPUs.
    machine: the CPUs that exist there, when known (LabError for any other)."""
    if cpus is None:
        return sets.server_list
    chosen = tuple(sorted(set(cpus)))
    if not chosen:
        raise LabError("a server needs at least one CPU")
    if machine is not None and (missing := sorted(set(chosen) - set(machine))):
        raise LabError(f"server CPUs {missing} are not available (have {list(machine)})",
                       hint="choose CPUs from that list")
    return format_cpu_list(chosen)


# Where a server borrows the load generator's CPU (CpuLevel.shared), the most of that CPU
# the generator may use before the point is refused: the server's last CPU was not its own.
SHARED_CPU_GENERATOR_LIMIT = 0.10


@dataclass(frozen=True)
class CpuLevel:
    """A server CPU set of `count` CPUs; `shared` of them are also the load generator's."""

    cpus: tuple[int, ...]
    shared: int

    @property
    def count(self) -> int:
        return len(self.cpus)


def cpu_levels(sets: CpuSets, up_to: int | None = None) -> list[CpuLevel]:
    """Server CPU sets of 1, 2, 4, ... CPUs (at most up_to), taken from the server's CPUs.

    Server and load generator stay on disjoint CPUs, with one exception: where the server
    has a single CPU (a 2-core machine), the 2-CPU level borrows one of the generator's,
    and says so in `shared`."""
    own = list(sets.server)
    borrowed = [c for c in reversed(sets.load) if c not in own]
    most = max(len(own), min(2, len(own) + len(borrowed)))
    levels, count = [], 1
    while count <= most and (up_to is None or count <= up_to):
        cpus = tuple(sorted((own + borrowed)[:count]))
        levels.append(CpuLevel(cpus, len(set(cpus) & set(sets.load))))
        count *= 2
    return levels


def available_cpus() -> tuple[int, ...]:
    return tuple(sorted(os.sched_getaffinity(0)))


def default_cpu_sets(server: str | None = None, load: str | None = None, *,
                     server_host: tuple[int, ...] | None = None,
                     load_host: tuple[int, ...] | None = None) -> CpuSets:
    """CPU sets from arguments, else LAB_*_CPUS, else an even split of the CPUs we may use.

    server_host: the CPUs of the servers' machine (default: those this process may use);
    load_host: the load generator's CPUs when it runs on another machine: then each side
    defaults to all the CPUs of its own machine.
    """
    cpus = server_host or available_cpus()
    server = server or os.environ.get("LAB_SERVER_CPUS")
    load = load or os.environ.get("LAB_LOAD_CPUS")
    if load_host is not None:
        server_set = parse_cpu_list(server) if server else cpus
        load_set = parse_cpu_list(load) if load else load_host
        for role, chosen, have in (("server", server_set, cpus), ("load", load_set, load_host)):
            if missing := sorted(set(chosen) - set(have)):
                raise LabError(f"{role} CPUs {missing} are not on the {role} machine "
                               f"(it has {list(have)})",
                               hint=f"choose --{role}-cpus from that list")
        return CpuSets(server=server_set, load=load_set)
    half = max(1, len(cpus) // 2)
    server_set = parse_cpu_list(server) if server else (cpus[half:] or cpus)
    load_set = parse_cpu_list(load) if load else cpus[:half]
    missing = sorted(set(server_set + load_set) - set(cpus))
    if missing:
        raise LabError(f"CPUs {missing} are not available to this process (have {list(cpus)})",
                       hint="choose CPUs from that list with --server-cpus/--load-cpus")
    if set(server_set) & set(load_set) and (server or load):
        raise LabError(f"server CPUs {list(server_set)} and load CPUs {list(load_set)} "
                       "overlap: the generator would steal the server's CPU",
                       hint="give them disjoint sets, e.g. --server-cpus 1 --load-cpus 0")
    # (A one-CPU machine cannot separate them by default; the doctor says so.)
    return CpuSets(server=server_set, load=load_set)
