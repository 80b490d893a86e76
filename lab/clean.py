"""Removing what the lab started, found by its labels, and nothing else."""

from __future__ import annotations

import docker
from docker.errors import DockerException, NotFound

from lab.backends.docker_images import PROJECT_LABEL

LABEL_FILTER = "=".join(next(iter(PROJECT_LABEL.items())))


def lab_containers(client: docker.DockerClient) -> list:
    return client.containers.list(all=True, filters={"label": LABEL_FILTER})


def remove_containers(client: docker.DockerClient) -> list[str]:
    """Remove every container carrying the lab's label; their names."""
    removed = []
    for container in lab_containers(client):
        try:
            container.remove(force=True)
            removed.append(container.name)
        except NotFound:
            pass
    return removed


def remove_images(client: docker.DockerClient, include_base: bool) -> list[str]:
    """Remove the lab's images (the bootstrapped base only if asked); their tags."""
    removed = []
    for image in client.images.list(filters={"label": LABEL_FILTER}):
        if image.labels.get("lab.role") == "base" and not include_base:
            continue
        try:
            client.images.remove(image.id, force=True)
            removed.extend(image.tags or [image.short_id])
        except (NotFound, DockerException):
            pass
    return removed
