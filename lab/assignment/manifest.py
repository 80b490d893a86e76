"""manifest.json of a submission: what it holds (SHA-256 and size of every file) and where
it comes from (the lab's commit and dirty flag when packed and when measured, the machine,
the conformance table, the results' schema version).

The manifest proves that nothing changed between lab.submit and lab.grade (a file edited,
added or lost on the way); it cannot prove what happened before lab.submit: the grader's
recomputation from raw records (analysis.integrity) does that part.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from lab.assignment.archive import MANIFEST, sha256_file
from lab.provenance import code
from lab.results import SCHEMA_VERSION, now_iso

FORMAT = "async-runtime-lab-submission"
FORMAT_VERSION = 1


def build(files: Iterable[tuple[str, Path]], meta: dict, student: dict[str, str]) -> dict:
    """The manifest of files (name in the archive, path), for a run whose run.json is meta."""
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "created": now_iso(),
        "student": student, "schema_version": SCHEMA_VERSION,
        "run": {key: meta.get(key) for key in ("run_id", "status", "profile", "started",
                                               "ended", "experiments", "command")},
        "lab_when_packed": code(), "lab_when_measured": meta.get("git"),
        "machine": meta.get("machine"),
        "backend": (meta.get("backend") or {}).get("backend"),
        "conformance": meta.get("conformance"),
        "files": {name: {"sha256": sha256_file(path), "bytes": path.stat().st_size}
                  for name, path in files}}


def read(folder: Path) -> tuple[dict, list[str]]:
    """The manifest of an unpacked submission and what is wrong with it (empty: nothing)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        return {}, [f"{MANIFEST} cannot be read ({type(exc).__name__})"]
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return {}, [f"{MANIFEST} is not a lab.submit manifest"]
    if manifest.get("format_version") != FORMAT_VERSION:
        return manifest, [f"{MANIFEST} has format_version {manifest.get('format_version')!r};"
                          f" this lab reads {FORMAT_VERSION}"]
    return manifest, verify(folder, manifest)


def verify(folder: Path, manifest: dict) -> list[str]:
    """Every file listed, present and unchanged; nothing unlisted."""
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        return [f"{MANIFEST} lists no files"]
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    present.discard(MANIFEST)
    problems = [f"{name} is in the archive but not in the manifest"
                for name in sorted(present - set(listed))]
    for name, record in sorted(listed.items()):
        path = folder / name
        if name not in present:
            problems.append(f"{name} is in the manifest but not in the archive")
        elif not isinstance(record, dict) or record.get("sha256") != sha256_file(path) \
                or record.get("bytes") != path.stat().st_size:
            problems.append(f"{name} changed after it was packed (SHA-256 differs)")
    return problems
