"""Removing the containers of lab processes that are gone (killed, crashed, rebooted away).

Every lab container names its owner (lab.ownership). Each lab task that talks to an
engine reaps it first: containers whose owner is certainly dead are removed, and the
task says what it removed and from which run. Containers of live labs (two labs on one
engine) and of owners this process cannot judge (another machine, another pid
namespace) are never touched. While the lab runs, its watcher (backends/docker_watcher)
does the same job the moment the lab dies, without waiting for the next task.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import docker
from docker.errors import DockerException, NotFound

from lab import ownership
from lab.backends.docker_images import PROJECT_LABEL
from lab.console import console

LABEL_FILTER = "=".join(next(iter(PROJECT_LABEL.items())))


@dataclass(frozen=True)
class Reaped:
    """Containers removed from one dead lab process."""

    owner: ownership.Owner
    runs: tuple[str, ...]
    names: tuple[str, ...]

    def describe(self, engine: str) -> str:
        where = f" on {self.owner.host}" if self.owner.host else ""
        return (f"removed {len(self.names)} container(s) left by lab process "
                f"{self.owner.pid}{where} (dead; run {', '.join(self.runs)}) from {engine}: "
                + ", ".join(self.names))


@dataclass(frozen=True)
class LabContainer:
    id: str
    name: str
    labels: dict[str, str]
    running: bool

    def remove(self, client: docker.DockerClient) -> bool:
        """Force-remove it; False if it was already gone (e.g. its watcher was quicker)."""
        try:
            client.api.remove_container(self.id, force=True)
        except NotFound:
            return False
        return True


def lab_containers(client: docker.DockerClient) -> list[LabContainer]:
    """Every container carrying the lab's label, from one list call (no inspection, which
    races with containers that other labs or watchers are removing)."""
    return [LabContainer(c["Id"], c["Names"][0].lstrip("/"), c.get("Labels") or {},
                         c["State"] == "running")
            for c in client.api.containers(all=True, filters={"label": LABEL_FILTER})]


def reap(client: docker.DockerClient) -> list[Reaped]:
    """Remove every lab container whose owner is certainly dead; what was removed."""
    by_owner: dict[ownership.Owner, list[LabContainer]] = defaultdict(list)
    for container in lab_containers(client):
        owner = ownership.Owner.from_labels(container.labels)
        if owner is not None and ownership.state(owner) == "dead":
            by_owner[owner].append(container)
    reaped = []
    for owner, containers in by_owner.items():
        names = []
        for container in containers:
            try:
                if container.remove(client):
                    names.append(container.name)
            except DockerException as exc:
                console.print(f"[yellow]![/yellow] could not remove {container.name}: {exc}")
        if names:
            runs = sorted({c.labels.get("lab.run-id", "?") for c in containers})
            reaped.append(Reaped(owner, tuple(runs), tuple(names)))
    return reaped


def reap_and_say(client: docker.DockerClient, engine: str) -> list[Reaped]:
    reaped = reap(client)
    for each in reaped:
        console.print(f"[yellow]![/yellow] {each.describe(engine)}")
    return reaped
