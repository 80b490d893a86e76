"""Removing what the lab started, found by its labels, and nothing else."""

from __future__ import annotations

import docker
from docker.errors import DockerException, NotFound

from lab import ownership
from lab.backends.docker_images import HASH_LABEL
from lab.reaper import LABEL_FILTER, lab_containers


def remove_containers(client: docker.DockerClient) -> tuple[list[str], list[str]]:
    """Remove every container carrying the lab's label except those of live lab processes
    (another lab running on this engine); the names removed, and the names kept."""
    removed, kept = [], []
    for container in lab_containers(client):
        owner = ownership.Owner.from_labels(container.labels)
        if owner is not None and ownership.state(owner) == "live":
            kept.append(container.name)
            continue
        if container.remove(client):
            removed.append(container.name)
    return removed, kept


def remove_images(client: docker.DockerClient, include_base: bool) -> list[str]:
    """Remove the lab's images (the bootstrapped base only if asked); their tags."""
    removed = []
    for image in client.images.list(filters={"label": LABEL_FILTER}):
        # Images built on a bootstrapped base inherit its lab.role=base: the base has no hash.
        is_base = image.labels.get("lab.role") == "base" and HASH_LABEL not in image.labels
        if is_base and not include_base:
            continue
        try:
            client.images.remove(image.id, force=True)
            removed.extend(image.tags or [image.short_id])
        except (NotFound, DockerException):
            pass
    return removed
