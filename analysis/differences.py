"""Everything two runs differ in that could explain a change between them, from run.json.

lab.compare prints these first: machine, CPU, cores, memory, kernel, virtualisation,
governor, SMT, backend, engine and container runtime, CPU sets, profile and specs, image
ids, code (commit, uncommitted changes), knobs, runtime versions, the generator's
calibrated ceiling, and each run's own state (incomplete, mixed, upgraded from an older
schema).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

UNKNOWN = "not recorded"
CEILING_TOLERANCE = 0.10   # generator ceilings further apart than this are a difference
FIELDS = (  # (section of run.json, key, what it is)
    ("machine", "host", "machine (host name)"), ("machine", "machine_id", "machine id"),
    ("machine", "cpu_model", "CPU model"), ("machine", "cores", "core count"),
    ("machine", "memory_bytes", "memory"), ("machine", "kernel", "kernel"),
    ("machine", "os", "operating system"), ("machine", "python", "orchestrator's Python"),
    ("noise", "virtualisation", "virtualisation"), ("noise", "governors", "CPU governor"),
    ("noise", "smt_siblings", "SMT siblings"),
    ("noise", "server_and_load_share_a_core", "server and load CPUs sharing a core"),
    ("noise", "container_runtime", "container runtime"),
    ("backend", "backend", "backend"), ("backend", "engine_version", "engine version"),
    ("backend", "base_image", "base image"), ("backend", "server_memory", "server memory"),
    ("cpus", "server", "server CPUs"), ("cpus", "load", "load CPUs"),
    ("git", "commit", "code commit"), ("git", "dirty", "uncommitted changes (dirty)"),
    ("git", "diff_sha256", "hash of the uncommitted changes"),
)


def _text(value: object) -> str:
    if value is None:
        return UNKNOWN
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)


def _section(meta: Mapping, name: str) -> Mapping:
    found = meta.get(name)
    return found if isinstance(found, Mapping) else {}


def own_state(meta: Mapping, side: str) -> list[str]:
    """What one run says about itself that weakens any comparison with it."""
    found = []
    if meta.get("upgraded_from"):
        found.append(f"{side} was recorded by results schema {meta['upgraded_from']} and "
                     "upgraded on load: its uncommitted-changes hash, specs, image "
                     "fingerprint, noise and calibration are unknown")
    if meta.get("status") != "complete":
        found.append(f"{side} did not complete (status {meta.get('status')})")
    for mixed in meta.get("mixed") or []:
        found.append(f"{side} is mixed: resumed at {mixed.get('at')} with "
                     + "; ".join(mixed.get("differences") or []))
    return found


def _knobs(meta: Mapping) -> dict[str, dict]:
    targets = _section(meta, "targets")
    return {name: {"knobs": ((info or {}).get("info") or {}).get("knobs"),
                   "runtime version": (info or {}).get("runtime_version"),
                   "toolchain": (info or {}).get("toolchain")}
            for name, info in targets.items() if isinstance(info, Mapping)}


def run_differences(a: Mapping, b: Mapping) -> list[str]:
    """One sentence per difference between run A's and run B's run.json."""
    found = own_state(a, "A") + own_state(b, "B")
    for section, key, what in FIELDS:
        va, vb = _section(a, section).get(key), _section(b, section).get(key)
        if va != vb:
            found.append(f"{what}: {_text(va)} in A, {_text(vb)} in B")
    for key in ("profile",):
        if a.get(key) != b.get(key):
            found.append(f"{key}: {_text(a.get(key))} in A, {_text(b.get(key))} in B")
    specs_a, specs_b = _section(a, "specs"), _section(b, "specs")
    for name in sorted(set(specs_a) & set(specs_b)):
        sa, sb = specs_a[name].get("spec") or {}, specs_b[name].get("spec") or {}
        changed = sorted(k for k in {*sa, *sb} if sa.get(k) != sb.get(k))
        if changed:
            found.append(f"spec of {name}: " + ", ".join(
                f"{k} {_text(sa.get(k))} in A, {_text(sb.get(k))} in B" for k in changed))
    found += _images(a, b)
    knobs_a, knobs_b = _knobs(a), _knobs(b)
    for target in sorted(set(knobs_a) | set(knobs_b)):
        if target not in knobs_a or target not in knobs_b:
            found.append(f"{target}: only in {'A' if target in knobs_a else 'B'}")
            continue
        for what, va in knobs_a[target].items():
            vb = knobs_b[target][what]
            if va != vb and None not in (va, vb):
                found.append(f"{target} {what}: {_text(va)} in A, {_text(vb)} in B")
    found += _ceilings(a, b)
    return found


def _images(a: Mapping, b: Mapping) -> list[str]:
    """The images each run used (images_used); for runs that did not record them, the ids
    of the tags both runs' engines had (an engine also holds other checkouts' images)."""
    used_a, used_b = _section(a, "images_used"), _section(b, "images_used")
    if not (used_a and used_b):
        used_a = _section(_section(a, "backend"), "images")
        used_b = _section(_section(b, "backend"), "images")
        shared = set(used_a) & set(used_b)
        used_a = {t: i for t, i in used_a.items() if t in shared}
        used_b = {t: i for t, i in used_b.items() if t in shared}
    return [f"image {tag}: {str(used_a.get(tag) or 'absent')[:19]} in A, "
            f"{str(used_b.get(tag) or 'absent')[:19]} in B"
            for tag in sorted(set(used_a) | set(used_b)) if used_a.get(tag) != used_b.get(tag)]


def _ceilings(a: Mapping, b: Mapping) -> list[str]:
    found = []
    cal_a, cal_b = _section(a, "calibration"), _section(b, "calibration")
    for tool in sorted(set(cal_a) & set(cal_b)):
        ca = (cal_a[tool] or {}).get("ceiling_rps") if isinstance(cal_a[tool], Mapping) else None
        cb = (cal_b[tool] or {}).get("ceiling_rps") if isinstance(cal_b[tool], Mapping) else None
        if ca and cb and abs(cb / ca - 1) > CEILING_TOLERANCE:
            found.append(f"{tool}'s calibrated ceiling: {ca:,.0f} req/s in A, {cb:,.0f} in B "
                         "(the load generator itself ran at another speed)")
    return found
