"""Building the lab's images through the Docker SDK, and skipping builds that changed nothing.

An image records the content hash of its build context (the folder minus .dockerignore)
and of its base image in a label; a build whose hash matches is skipped.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from docker import DockerClient
from docker.errors import APIError, ImageNotFound
from docker.utils.build import exclude_paths

from lab.errors import BuildError

PROJECT_LABEL = {"lab.project": "async-runtime-lab"}
HASH_LABEL = "lab.content-hash"


def context_hash(folder: Path, base_image_id: str) -> str:
    """sha256 of every file the build context would contain, and of the base image."""
    ignore = folder / ".dockerignore"
    patterns = [p.strip() for p in ignore.read_text().splitlines()
                if p.strip() and not p.startswith("#")] if ignore.exists() else []
    digest = hashlib.sha256(base_image_id.encode())
    for relative in sorted(exclude_paths(str(folder), patterns)):
        path = folder / relative
        if path.is_file():
            digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def current_hash(client: DockerClient, tag: str) -> str | None:
    try:
        return client.images.get(tag).labels.get(HASH_LABEL)
    except ImageNotFound:
        return None


def build_image(client: DockerClient, folder: Path, tag: str, base_image: str,
                labels: dict[str, str], say: Callable[[str], None]) -> str:
    """Build folder/Dockerfile as tag, streaming steps to say(); the image id.

    A failed build raises BuildError with the failing step and the end of its output.
    """
    step = "(before the first step)"
    output: list[str] = []
    image_id = None
    started = time.monotonic()
    try:
        stream = client.api.build(path=str(folder), tag=tag, rm=True, forcerm=True,
                                  pull=False, decode=True, buildargs={"BASE_IMAGE": base_image},
                                  labels={**PROJECT_LABEL, **labels})
        for chunk in stream:
            if "error" in chunk:
                raise BuildError(
                    f"building {tag} failed at {step}",
                    detail="\n".join([*output[-30:], chunk["error"].strip()]),
                    hint=f"reproduce with `docker build --build-arg BASE_IMAGE={base_image} "
                         f"{folder}`")
            text = chunk.get("stream", "")
            for line in text.splitlines():
                if line.startswith("Step "):
                    step, output = line.strip(), []
                    say(f"{step}  [{time.monotonic() - started:.0f} s]")
                elif line.strip():
                    output.append(line.rstrip())
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
    except APIError as exc:
        raise BuildError(f"the Docker engine refused to build {tag}: {exc}") from None
    if image_id is None:
        image_id = client.images.get(tag).id
    return image_id
