"""Run folders: results/<run_id>/ with run.json, one file per finished measurement, tidy tables.

Every finished measurement ("point") is written once, atomically, and never
overwritten, so an interrupted run keeps all it finished and `--resume RUN_ID`
does only the rest. The tidy table of an experiment (<experiment>.csv) is assembled
from its points whenever the experiment ends.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import secrets
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lab import RESULTS_DIR
from lab.errors import LabError
from lab.provenance import code

# 2: run.json records provenance (git diff_sha256, specs, images_fingerprint), noise and the
# generator's calibration; points carry noise rows and the noisy/generator-bound flags.
SCHEMA_VERSION = 2
# Older versions this lab reads, and how (upgrade()): version 1 had none of the above.
UPGRADABLE = (1,)
ROW_COLUMNS = ("run_id", "experiment", "target", "runtime", "model", "backend", "variant",
               "knobs", "repetition", "metric", "value", "unit", "flags")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def atomic_write(path: Path, text: str | bytes, overwrite: bool = True) -> None:
    """Write via a temporary file and rename; with overwrite=False an existing file is an error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists and results are never overwritten")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing
        with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if path appeared meanwhile: never clobber a result
            os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_raw(path: Path) -> str:
    """A raw file's text, as Run.save_raw wrote it (a .gz name is gzip-compressed)."""
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode()


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def machine() -> dict[str, object]:
    cpu_model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"host": platform.node(), "machine_id": _machine_id(), "cpu_model": cpu_model,
            "cores": os.cpu_count(),
            "usable_cpus": sorted(os.sched_getaffinity(0)), "memory_bytes": memory,
            "kernel": platform.release(), "os": platform.platform(),
            "python": platform.python_version()}


def _machine_id() -> str | None:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            return Path(path).read_text().strip() or None
        except OSError:
            continue
    return None


@dataclass
class Run:
    """One results folder."""

    folder: Path

    @property
    def run_id(self) -> str:
        return self.folder.name

    @property
    def meta_path(self) -> Path:
        return self.folder / "run.json"

    # -- run.json ---------------------------------------------------------------
    def meta(self) -> dict:
        return read_meta(self.folder)

    def update_meta(self, **fields: object) -> None:
        meta = self.meta()
        meta.update(fields)
        atomic_write(self.meta_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")

    # -- points -----------------------------------------------------------------
    def point_path(self, experiment: str, key: str) -> Path:
        return self.folder / experiment / "points" / f"{key}.json"

    def has_point(self, experiment: str, key: str) -> bool:
        return self.point_path(experiment, key).exists()

    def save_point(self, experiment: str, key: str, rows: list[dict], info: dict) -> None:
        atomic_write(self.point_path(experiment, key),
                     json.dumps({"key": key, "info": info, "rows": rows}) + "\n",
                     overwrite=False)

    def save_raw(self, experiment: str, name: str, text: str) -> str:
        """Keep a load generator's raw output; the path relative to the run folder.

        Written before its point: a raw file whose point was never saved (the lab was
        killed in between) belongs to no result, and the resumed measurement replaces it.
        A name ending in .gz is stored gzip-compressed (pandas reads it as it is)."""
        path = self.folder / experiment / "raw" / name
        atomic_write(path, gzip.compress(text.encode(), mtime=0) if name.endswith(".gz")
                     else text)
        return str(path.relative_to(self.folder))

    def save_failure(self, experiment: str, key: str, info: dict) -> None:
        """A session (target x variant x repetition) that could not be measured, and why."""
        path = self.folder / experiment / "failures" / f"{key}.json"
        if path.exists():  # a resumed run failed again: keep both
            path = path.with_name(f"{key}.{secrets.token_hex(2)}.json")
        atomic_write(path, json.dumps({"key": key, **info}, indent=2) + "\n", overwrite=False)

    def failures(self, experiment: str) -> list[dict]:
        folder = self.folder / experiment / "failures"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]

    def points(self, experiment: str, prefix: str = "") -> list[dict]:
        """The finished points of an experiment (those whose key starts with prefix)."""
        folder = self.folder / experiment / "points"
        return [json.loads(p.read_text()) for p in sorted(folder.glob(f"{prefix}*.json"))]

    def write_table(self, experiment: str) -> Path:
        """Assemble <experiment>.csv, the tidy long table, from the finished points."""
        import pandas as pd  # here: every task imports this module, few write tables

        rows = [row for point in self.points(experiment) for row in point["rows"]]
        frame = pd.DataFrame(rows)
        path = self.folder / f"{experiment}.csv"
        atomic_write(path, frame.to_csv(index=False))
        return path


def create_run(command: list[str] | None = None, **meta: object) -> Run:
    run_id = new_run_id()
    folder = RESULTS_DIR / run_id
    folder.mkdir(parents=True)
    run = Run(folder)
    atomic_write(run.meta_path, json.dumps({
        "schema_version": SCHEMA_VERSION, "run_id": run_id, "started": now_iso(), "ended": None,
        "status": "running", "command": " ".join(command or sys.argv), "git": code(),
        "machine": machine(), **meta}, indent=2, sort_keys=True) + "\n", overwrite=False)
    return run


def open_run(run_id: str, results_dir: Path | None = None) -> Run:
    """An existing run, its schema checked; 'latest' names the newest (run ids begin with
    their start time, so the greatest id is the run started last)."""
    results_dir = results_dir or RESULTS_DIR
    if run_id == "latest":
        runs = sorted(p.parent for p in results_dir.glob("*/run.json"))
        if not runs:
            raise LabError(f"no runs in {results_dir}", hint="run an experiment first")
        folder = runs[-1]
    else:
        folder = results_dir / run_id
    if not (folder / "run.json").exists():
        known = sorted(p.parent.name for p in results_dir.glob("*/run.json"))[-5:]
        raise LabError(f"no run '{run_id}' in {results_dir}",
                       hint=f"recent runs: {', '.join(known) or 'none'}")
    run = Run(folder)
    run.meta()  # its schema checked
    return run


def check_schema(meta: dict, where: Path) -> None:
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION and version not in UPGRADABLE:
        readable = ", ".join(str(v) for v in (*UPGRADABLE, SCHEMA_VERSION))
        raise LabError(
            f"{where} has results schema_version {version!r}; this lab reads versions "
            f"{readable}",
            hint="check out the lab version that wrote it (run.json names its git commit), "
                 "or re-run the experiments")


def upgrade(meta: dict) -> dict:
    """run.json of an older schema as the current one, in memory (documented in README).

    1 -> 2: nothing is invented: provenance (the diff hash, specs, image fingerprint),
    noise and calibration stay absent, which lab.compare reports as unknown and --resume
    as a difference; 'upgraded_from' says where the run came from.
    """
    if meta.get("schema_version") == 1:
        meta = {**meta, "schema_version": 2, "upgraded_from": 1}
    return meta


def read_meta(folder: Path) -> dict:
    """A run's run.json, its schema checked and upgraded to the current version."""
    meta = json.loads((folder / "run.json").read_text())
    check_schema(meta, folder)
    return upgrade(meta)
