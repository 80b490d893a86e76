"""Where a run's numbers came from, as fingerprints --resume checks: the code (git commit and
a hash of every uncommitted change), each experiment's spec for the profile, and the images
its targets and load generator ran from (docker; natively the code fingerprint covers the
binaries built from it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
from collections.abc import Mapping, Sequence

from lab import ROOT

UNKNOWN = "not recorded (a run of results schema 1)"


def _git(*args: str) -> bytes | None:
    found = subprocess.run(["git", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                           capture_output=True)
    return found.stdout if found.returncode == 0 else None


def code() -> dict[str, object]:
    """git commit, dirty, and a hash of the uncommitted changes (tracked diff + new files)."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "diff_sha256": None}
    digest = hashlib.sha256(_git("diff", "HEAD", "--binary") or b"")
    untracked = (_git("ls-files", "--others", "--exclude-standard", "-z") or b"").split(b"\0")
    for name in sorted(n for n in untracked if n):
        digest.update(b"\0" + name + b"\0")
        try:
            digest.update((ROOT / name.decode()).read_bytes())
        except OSError:
            digest.update(b"(unreadable)")
    status = _git("status", "--porcelain")
    return {"commit": commit.decode().strip(), "dirty": bool(status and status.strip()),
            "diff_sha256": digest.hexdigest()[:16]}


def spec_record(spec: object) -> dict[str, object]:
    """An experiment's spec as data, and a fingerprint of it."""
    data = dataclasses.asdict(spec) if dataclasses.is_dataclass(spec) else {"repr": repr(spec)}
    text = json.dumps(data, sort_keys=True, default=str)
    return {"spec": json.loads(text), "sha256": hashlib.sha256(text.encode()).hexdigest()[:16]}


def images_used(backend_description: Mapping[str, object],
                image_names: Sequence[str]) -> dict[str, str | None] | None:
    """Tag -> image id of the images named (None when the backend has no images)."""
    images = backend_description.get("images")
    if not isinstance(images, dict):
        return None
    return {f"{name}:latest": images.get(f"{name}:latest") for name in sorted(image_names)}


def images_fingerprint(backend_description: Mapping[str, object],
                       image_names: Sequence[str]) -> str | None:
    """A hash of the ids of the images named (None when the backend has no images)."""
    used = images_used(backend_description, image_names)
    if used is None:
        return None
    return hashlib.sha256(json.dumps(sorted(used.items())).encode()).hexdigest()[:16]


def differences(recorded: Mapping[str, object], current: Mapping[str, object],
                experiments: Sequence[str]) -> list[str]:
    """What differs between a run's recorded provenance and the current one (run.json keys
    git, specs, images_fingerprint), for the experiments about to be measured."""
    found = []
    git_then = recorded.get("git") or {}
    git_now = current.get("git") or {}
    assert isinstance(git_then, Mapping) and isinstance(git_now, Mapping)
    if git_then.get("commit") != git_now.get("commit"):
        found.append(f"code: commit {git_then.get('commit')} then, {git_now.get('commit')} now")
    elif "diff_sha256" not in git_then:
        found.append(f"code: uncommitted changes {UNKNOWN}")
    elif git_then.get("diff_sha256") != git_now.get("diff_sha256"):
        found.append(f"code: uncommitted changes differ (hash {git_then.get('diff_sha256')} "
                     f"then, {git_now.get('diff_sha256')} now)")
    specs_then = recorded.get("specs") or {}
    specs_now = current.get("specs") or {}
    assert isinstance(specs_then, Mapping) and isinstance(specs_now, Mapping)
    for name in experiments:
        then, now = specs_then.get(name), specs_now.get(name)
        if then is None:
            found.append(f"spec of {name}: {UNKNOWN if not specs_then else 'not recorded'}")
        elif now is not None and then.get("sha256") != now.get("sha256"):
            changed = sorted(k for k in {*then["spec"], *now["spec"]}
                             if then["spec"].get(k) != now["spec"].get(k))
            found.append(f"spec of {name}: {', '.join(changed)} changed")
    images_then = recorded.get("images_fingerprint", UNKNOWN)
    if images_then != current.get("images_fingerprint"):
        found.append(f"images: fingerprint {images_then} then, "
                     f"{current.get('images_fingerprint')} now")
    return found


def engine_differences(then: Mapping[str, object], now: Mapping[str, object]) -> list[str]:
    """Which Docker engine served each role (server, load) then and now, where they differ
    (two backend descriptions, run.json's `backend`)."""
    def engines(described: Mapping[str, object]) -> dict[str, object]:
        found = described.get("engines") or {}
        assert isinstance(found, Mapping)
        return {role: (e or {}).get("engine") for role, e in found.items()}
    before, after = engines(then), engines(now)
    return [f"{role} engine: {before.get(role)} then, {after.get(role)} now"
            for role in sorted({*before, *after}) if before.get(role) != after.get(role)]
