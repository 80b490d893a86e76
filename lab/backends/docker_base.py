"""The base image every lab image starts from: debian:trixie-slim, found, pulled or built.

Air-gapped labs cannot pull from a registry, but can reach a Debian mirror: then the
base is built here with debootstrap (minbase) and `docker import`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from docker import DockerClient
from docker.errors import APIError, ImageNotFound

from lab.errors import LabError

BASE_IMAGE = os.environ.get("LAB_BASE_IMAGE", "debian:trixie-slim")
DEBIAN_MIRROR = os.environ.get("LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PULL_TIMEOUT_SECONDS = 60
LABELS = {"lab.project": "async-runtime-lab", "lab.role": "base"}
# What debian's own -slim images leave out, to keep the image small.
SLIM_PATHS = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
              "var/cache/apt/archives", "var/lib/apt/lists")


def base_image_id(client: DockerClient, name: str = BASE_IMAGE) -> str | None:
    try:
        return client.images.get(name).id
    except ImageNotFound:
        return None


def _try_pull(client: DockerClient, name: str, say: Callable[[str], None]) -> str | None:
    repository, _, tag = name.partition(":")
    say(f"{name} is not here; trying to pull it")
    try:
        client.api.pull(repository, tag=tag or "latest")
    except APIError as exc:
        say(f"pull failed ({str(exc).splitlines()[0][:160]})")
        return None
    return base_image_id(client, name)


def _suite_of(name: str) -> str:
    tag = name.partition(":")[2] or "trixie"
    return tag.removesuffix("-slim")


def _debootstrap(name: str, workdir: Path, say: Callable[[str], None]) -> Path:
    if shutil.which("debootstrap") is None:
        raise LabError(
            f"cannot build {name}: debootstrap is not installed",
            hint="install it (`sudo apt-get install debootstrap` on Debian/Ubuntu), or load "
                 "the image from elsewhere (`docker load`), then run `uv run invoke lab.base`")
    if os.geteuid() != 0:
        raise LabError(f"cannot build {name}: debootstrap needs root",
                       hint="run `sudo uv run invoke lab.base` once")
    rootfs = workdir / "rootfs"
    suite = _suite_of(name)
    say(f"building {name} with debootstrap --variant=minbase {suite} from {DEBIAN_MIRROR}")
    proc = subprocess.Popen(["debootstrap", "--variant=minbase", suite, str(rootfs),
                             DEBIAN_MIRROR], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            text=True)
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-30:]
        if line.startswith("I: "):
            say(line[3:].strip())
    if proc.wait() != 0:
        raise LabError(f"debootstrap of {suite} failed (exit {proc.returncode})",
                       detail="\n".join(tail),
                       hint=f"is {DEBIAN_MIRROR} reachable? set LAB_DEBIAN_MIRROR to a mirror")
    for path in SLIM_PATHS:
        shutil.rmtree(rootfs / path, ignore_errors=True)
        (rootfs / path).mkdir(parents=True, exist_ok=True)
    return rootfs


def _import(client: DockerClient, rootfs: Path, name: str) -> str:
    repository, _, tag = name.partition(":")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", "-", "."],
                           stdout=subprocess.PIPE)
    assert tar.stdout is not None
    changes = ['CMD ["bash"]', *(f'LABEL {k}="{v}"' for k, v in LABELS.items())]
    client.api.import_image_from_stream(tar.stdout, repository=repository,
                                        tag=tag or "latest", changes=changes)
    if tar.wait() != 0:
        raise LabError(f"packing the {name} root filesystem failed (tar exit {tar.returncode})")
    image_id = base_image_id(client, name)
    if image_id is None:
        raise LabError(f"docker import did not produce {name}")
    return image_id


def ensure_base_image(client: DockerClient, say: Callable[[str], None],
                      name: str = BASE_IMAGE) -> tuple[str, str]:
    """(image id, how it was obtained: 'present', 'pulled' or 'debootstrap')."""
    if image_id := base_image_id(client, name):
        return image_id, "present"
    if image_id := _try_pull(client, name, say):
        return image_id, "pulled"
    with tempfile.TemporaryDirectory(prefix="lab-base-") as workdir:
        rootfs = _debootstrap(name, Path(workdir), say)
        say(f"importing the root filesystem as {name}")
        return _import(client, rootfs, name), "debootstrap"
