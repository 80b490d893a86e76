"""Building the lab's images through the Docker SDK, and skipping builds that changed nothing.

An image records the content hash of its build context (the folder minus .dockerignore)
and of its base image in a label; a build whose hash matches is skipped, on every engine
the lab uses (an image with the right hash on another engine is transferred instead).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from docker import DockerClient
from docker.errors import APIError, ImageNotFound
from docker.utils.build import exclude_paths

from lab.backends import BuildOutcome
from lab.backends.docker_base import BASE_IMAGE, base_image_id, ensure_base_image
from lab.backends.engines import Engine
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


def transfer_image(source: DockerClient, target: DockerClient, tag: str) -> None:
    """`docker save | docker load` through the SDK, streamed: the same id and labels."""
    try:
        for chunk in target.api.load_image(source.api.get_image(tag)):
            if "error" in chunk:
                raise BuildError(f"loading {tag} failed: {chunk['error']}")
    except APIError as exc:
        raise BuildError(f"transferring {tag} failed: {exc}") from None


class EngineImages:
    """The lab's images on each engine it uses: the base image (present, else transferred
    from another engine, pulled or bootstrapped) and images built from a folder (cached by
    content hash; transferred from another engine that has the same hash; built there and
    transferred when this engine cannot build, e.g. no Debian mirror reachable from it)."""

    def __init__(self, engines: list[Engine], say: Callable[[str], None]) -> None:
        self.engines = engines
        self.say = say
        self._base: dict[str, str] = {}

    def _others(self, engine: Engine) -> list[Engine]:
        return [other for other in self.engines if other is not engine]

    def base(self, engine: Engine) -> tuple[str, str]:
        """(base image id on engine, how it got there)."""
        if engine.url in self._base:
            return self._base[engine.url], "present"
        image_id, how = base_image_id(engine.client), "present"
        for other in self._others(engine):
            if image_id is None and base_image_id(other.client) is not None:
                transfer_image(other.client, engine.client, BASE_IMAGE)
                image_id, how = base_image_id(engine.client), f"transferred from {other.url}"
        if image_id is None:
            image_id, how = ensure_base_image(engine.client, self.say)
        if how != "present":
            self.say(f"base image {BASE_IMAGE} on {engine.url}: {how} ({image_id[:19]})")
        self._base[engine.url] = image_id
        return image_id, how

    def ensure(self, name: str, folder: Path, tag: str, engine: Engine,
               force: bool = False) -> BuildOutcome:
        """Image tag, built from folder, on engine."""
        started = time.monotonic()
        wanted = context_hash(folder, self.base(engine)[0])

        def outcome(detail: str = "", cached: bool = False) -> BuildOutcome:
            where = f"on {engine.url}" + (f", {detail}" if detail else "")
            return BuildOutcome(name, time.monotonic() - started, cached,
                                where if len(self.engines) > 1 else "")

        if not force and current_hash(engine.client, tag) == wanted:
            return outcome(cached=True)
        for other in self._others(engine):
            if not force and current_hash(other.client, tag) == wanted:
                transfer_image(other.client, engine.client, tag)
                return outcome(f"transferred from {other.url}")
        labels = {HASH_LABEL: wanted, "lab.runtime": name}
        try:
            build_image(engine.client, folder, tag, BASE_IMAGE, labels, self.say)
        except BuildError as exc:
            others = self._others(engine)
            if not others:
                raise
            self.say(f"{tag} did not build on {engine.url} ({exc.message}); building it on "
                     f"{others[0].url} and transferring it")
            self.ensure(name, folder, tag, others[0], force)
            transfer_image(others[0].client, engine.client, tag)
            return outcome(f"built on {others[0].url}, transferred")
        return outcome()
