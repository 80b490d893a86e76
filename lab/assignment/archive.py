"""Submission archives: packing one (lab.submit), and opening one safely (lab.grade).

A submission is a gzip-compressed tar with a fixed layout: manifest.json (first), the
answers file, results/<run_id>/..., report/index.html and, for the optional part,
runtime/<name>/.... Opening never trusts it: members are checked as their headers arrive,
before any byte of them is read, and written by this code (never by tarfile's extract)
into a temporary folder. Only regular files and folders under the known top-level names
are accepted; anything else rejects the whole archive, with the reason.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MANIFEST = "manifest.json"
TOP_LEVEL = {MANIFEST, "answers.toml", "results", "report", "runtime"}
CHUNK = 1 << 16


@dataclass(frozen=True)
class Limits:
    """What an honest submission stays well within (a standard run packs to a few MB)."""

    archive_bytes: int = 256 * 2**20
    member_bytes: int = 64 * 2**20
    total_bytes: int = 512 * 2**20
    members: int = 20_000


LIMITS = Limits()


class Rejected(Exception):
    """An archive that is not opened, and why (for the teacher's report)."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def pack(out: Path, members: Iterable[tuple[str, Path]]) -> None:
    """Write out (atomically): each (name in the archive, file) in order, with neutral
    owners and modes, so that the archive says nothing about the student's account."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    os.fchmod(fd, 0o644)  # mkstemp makes 0600; the archive is for handing in
    os.close(fd)
    try:
        with tarfile.open(tmp, "w:gz", format=tarfile.PAX_FORMAT) as tar:
            for name, path in members:
                info = tarfile.TarInfo(name)
                info.size = path.stat().st_size
                info.mtime = int(path.stat().st_mtime)
                info.mode = 0o644
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def safe_name(name: str) -> PurePosixPath:
    """The member's relative path, or Rejected when it could land anywhere else."""
    if not name or "\x00" in name or "\\" in name:
        raise Rejected(f"member name {name!r} is not a plain relative path")
    path = PurePosixPath(name)
    if path.is_absolute():
        raise Rejected(f"member {name!r} has an absolute path")
    parts = [p for p in path.parts if p != "."]
    if ".." in parts:
        raise Rejected(f"member {name!r} climbs out of the archive ('..')")
    if not parts:
        raise Rejected(f"member name {name!r} is empty")
    if parts[0] not in TOP_LEVEL:
        raise Rejected(f"member {name!r} is not part of a submission (expected "
                       f"{', '.join(sorted(TOP_LEVEL))} at the top)")
    return PurePosixPath(*parts)


def _kind(member: tarfile.TarInfo) -> str | None:
    """None for what may be extracted (a file or a folder), else what it is."""
    if member.issym() or member.islnk():
        return f"a link to {member.linkname!r}"
    if member.issparse():
        return "a sparse file"
    if member.isreg() or member.isdir():
        return None
    return "a device, FIFO or other special file"


def unpack(archive: Path, into: Path, limits: Limits = LIMITS) -> list[str]:
    """Extract a submission into the (empty) folder into; the files' relative names.

    Raises Rejected, before writing anything the archive did not pass checks for."""
    try:
        size = archive.stat().st_size
    except OSError as exc:
        raise Rejected(f"cannot read it ({exc.strerror})") from None
    if size > limits.archive_bytes:
        raise Rejected(f"it is {size / 2**20:.0f} MiB, over the "
                       f"{limits.archive_bytes / 2**20:.0f} MiB a submission may be")
    names: list[str] = []
    declared = 0
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            for count, member in enumerate(tar, 1):
                if count > limits.members:
                    raise Rejected(f"it has over {limits.members} members")
                relative = safe_name(member.name)
                if (what := _kind(member)) is not None:
                    raise Rejected(f"member {member.name!r} is {what}")
                if member.size > limits.member_bytes:
                    raise Rejected(f"member {member.name!r} declares {member.size:,} bytes, "
                                   f"over the {limits.member_bytes / 2**20:.0f} MiB limit")
                declared += member.size
                if declared > limits.total_bytes:
                    raise Rejected(f"its members add up to over "
                                   f"{limits.total_bytes / 2**20:.0f} MiB")
                destination = into.joinpath(*relative.parts)
                if member.isdir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise Rejected(f"member {member.name!r} has no data")
                try:
                    with destination.open("xb") as handle:
                        copied = _copy(source, handle, member.size)
                except FileExistsError:
                    raise Rejected(f"member {member.name!r} appears twice") from None
                if copied != member.size:
                    raise Rejected(f"member {member.name!r} is cut short ({copied:,} of "
                                   f"{member.size:,} bytes): the archive is truncated")
                names.append(str(relative))
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise Rejected(f"it is not a complete .tar.gz archive: truncated or another format "
                       f"({type(exc).__name__}: {exc})") from None
    except (OSError, NotADirectoryError) as exc:
        raise Rejected(f"it cannot be unpacked ({exc.strerror or exc})") from None
    if MANIFEST not in names:
        raise Rejected(f"it has no {MANIFEST}: not made by lab.submit")
    return names


def _copy(source, handle, limit: int) -> int:
    copied = 0
    while chunk := source.read(min(CHUNK, limit - copied + 1)):
        copied += len(chunk)
        if copied > limit:
            break
        handle.write(chunk)
    return copied

