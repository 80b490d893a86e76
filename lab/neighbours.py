"""Noise from neighbours: containers the lab can see that may run on the CPUs of a
measurement (the server's or the load generator's), with whose they are.

A leftover of a killed lab, a second lab on the same engine, or anything else pinned to
(or free to use) those CPUs steals time from the point being measured. Containers of this
very lab process are the point's own (its server, its load generator, its watcher) and are
not listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from docker.errors import DockerException, NotFound

from lab import ownership
from lab.backends import Backend
from lab.backends.docker_cpu import cgroup_cpu_file, read_cpu_file
from lab.backends.engines import Engine, Engines, connect
from lab.cpus import parse_cpu_list
from lab.errors import LabError

_inspected: dict[str, tuple[tuple[int, ...] | None, int]] = {}  # id -> (cpuset, pid)
_local_engine: list[Engine | None] = []


@dataclass(frozen=True)
class Neighbour:
    engine: str                  # the engine's URL
    name: str                    # the container's name
    cpus: str                    # its cpuset; "" when it may use every CPU
    near: tuple[str, ...]        # whose CPUs it may run on: "server", "load" or both
    owner: str                   # which lab it belongs to, and whether that lab is alive
    cpu_seconds: float | None    # CPU time used so far (engines on this machine), else None

    def as_record(self) -> dict[str, object]:
        return {"engine": self.engine, "container": self.name, "cpus": self.cpus or "any",
                "near": list(self.near), "owner": self.owner, "cpu_seconds": self.cpu_seconds}


def cpu_neighbours(backend: Backend) -> list[Neighbour]:
    """Every running container, other than this lab process's own, that may run on
    backend.cpus.server or backend.cpus.load: a container pinned to an overlapping
    cpuset, or one with no cpuset at all.

    Call it before each point (and, to see who actually ran, after it: a neighbour whose
    cpu_seconds grew used CPU during the point); a non-empty list means the point may be
    disturbed. It costs one container list per engine (plus one inspection per container
    never seen before); with a native backend it looks at this machine's default engine,
    if one answers. An engine that does not answer gives no neighbours.
    """
    found = []
    for engine, cpus in _scopes(backend):
        try:
            containers = engine.client.containers.list(sparse=True)
        except DockerException:
            continue
        for container in containers:
            neighbour = _neighbour(engine, container, cpus)
            if neighbour is not None:
                found.append(neighbour)
    return found


def _scopes(backend: Backend) -> list[tuple[Engine, dict[str, set[int]]]]:
    """Each engine to look at, with the CPU sets (by role) on its host."""
    cpus = {"server": set(backend.cpus.server), "load": set(backend.cpus.load)}
    engines: Engines | None = getattr(backend, "engines", None)
    if engines is not None:
        if engines.same_host:
            return [(engine, cpus) for engine in engines.distinct]
        return [(engines.server, {"server": cpus["server"]}),
                (engines.load, {"load": cpus["load"]})]
    if not _local_engine:  # the native backend: this machine's default engine, if any
        try:
            _local_engine.append(connect(None, "local", insecure=False))
        except LabError:
            _local_engine.append(None)
    return [(_local_engine[0], cpus)] if _local_engine[0] is not None else []


def _neighbour(engine: Engine, container, cpus: dict[str, set[int]]) -> Neighbour | None:
    labels = container.attrs.get("Labels") or {}
    owner = ownership.Owner.from_labels(labels)
    if owner is not None and owner.token == ownership.me().token:
        return None
    if container.id not in _inspected:
        try:
            attrs = engine.client.api.inspect_container(container.id)
        except NotFound:
            return None
        cpuset = attrs["HostConfig"].get("CpusetCpus") or ""
        _inspected[container.id] = (parse_cpu_list(cpuset) if cpuset else None,
                                    attrs["State"]["Pid"])
    pinned, pid = _inspected[container.id]
    near = tuple(role for role, wanted in cpus.items() if pinned is None or wanted & set(pinned))
    if not near:
        return None
    used = None
    if engine.local and (path := cgroup_cpu_file(pid, container.id)) is not None:
        used = read_cpu_file(path)
    name = (container.attrs.get("Names") or ["/" + container.id[:12]])[0].lstrip("/")
    return Neighbour(engine.url, name, ",".join(map(str, pinned or ())), near,
                     _owner_text(owner, labels), used)


def _owner_text(owner: ownership.Owner | None, labels: dict[str, str]) -> str:
    run = labels.get("lab.run-id", "?")
    if owner is None:  # (containers run by hand from a lab image inherit its labels)
        return ("a lab container without an owner (an older lab): `uv run invoke lab.clean`"
                if labels.get("lab.role") in ("server", "load") else "not started by the lab")
    where = f"lab process {owner.pid} on {owner.host or '?'} (run {run})"
    return {"live": f"{where}, running", "dead": f"{where}, which is gone: a leftover",
            "unknown": f"{where}, which this machine cannot see"}[ownership.state(owner)]
