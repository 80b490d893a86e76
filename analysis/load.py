"""Read one results folder into frames: run.json, every <experiment>.csv, failures, points.

Nothing here measures or writes; a folder of an older schema version is upgraded in memory
(lab.results.upgrade), one of an unknown version refused with a message saying what to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lab import RESULTS_DIR
from lab.errors import LabError
from lab.results import ROW_COLUMNS, check_schema, open_run, read_meta

# Columns every tidy table must have for the analysis to read it.
REQUIRED_COLUMNS = ("target", "metric", "value")
PACER_COLUMNS = ("stream", "intended_ns", "sent_ns", "done_ns", "status", "error")


@dataclass
class RunData:
    """One run: its metadata, one tidy frame per experiment, and what went wrong."""

    path: Path
    meta: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    failures: dict[str, list[dict]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # tables that could not be read

    @property
    def run_id(self) -> str:
        return str(self.meta.get("run_id") or self.path.name)

    @property
    def status(self) -> str:
        return str(self.meta.get("status") or "unknown")

    @property
    def experiments(self) -> list[str]:
        """Experiments the run meant to do, then any other table found in the folder."""
        planned = [str(e) for e in self.meta.get("experiments") or []]
        return planned + sorted(set(self.tables) - set(planned))

    @property
    def failed_targets(self) -> dict[str, str]:
        targets = self.meta.get("targets") or {}
        return {name: str(info["failed"]) for name, info in targets.items()
                if isinstance(info, dict) and info.get("failed")}

    def fact(self, target: str, name: str, default: object = None) -> object:
        """A fact about a target as run.json recorded it (runtime.toml at measuring time)."""
        info = (self.meta.get("targets") or {}).get(target) or {}
        return (info.get("facts") or {}).get(name, default)

    @property
    def target_names(self) -> list[str]:
        """Every target named in run.json or in a table."""
        names = set(self.meta.get("targets") or {})
        for frame in self.tables.values():
            if "target" in frame.columns:
                names |= set(frame["target"].dropna().astype(str))
        return sorted(names)

    def table(self, experiment: str) -> pd.DataFrame:
        """The experiment's tidy rows (an empty frame when it has none)."""
        return self.tables.get(experiment, pd.DataFrame(columns=list(ROW_COLUMNS)))

    def point_records(self, experiment: str) -> Iterator[tuple[Path, dict]]:
        """Every readable point file of an experiment, parsed, in file-name order."""
        for path in sorted((self.path / experiment / "points").glob("*.json")):
            try:
                yield path, json.loads(path.read_text())
            except (OSError, ValueError):
                continue

    def points(self, experiment: str) -> pd.DataFrame:
        """One row per finished point: key, raw file (relative), target, variant, repetition
        and the point's parameters (from its first tidy row)."""
        records = []
        for path, point in self.point_records(experiment):
            first = (point.get("rows") or [{}])[0]
            records.append({**{k: v for k, v in first.items()
                               if k not in ("metric", "value", "unit", "flags", "stream")},
                            "key": point.get("key", path.stem),
                            "raw": (point.get("info") or {}).get("raw")})
        return pd.DataFrame(records)

    def raw_path(self, relative: str) -> Path:
        return self.path / relative


def resolve(path_or_run_id: str | Path, results_dir: Path = RESULTS_DIR) -> Path:
    """A run folder from a path, a run id in results_dir, or 'latest'; its schema checked."""
    candidate = Path(path_or_run_id)
    if (candidate / "run.json").exists():
        folder = candidate
    elif candidate.is_dir():
        raise LabError(f"{candidate} has no run.json, so it is not a results folder",
                       hint="pass a folder under results/ or a run id")
    else:
        folder = open_run(str(path_or_run_id), results_dir).folder
    try:
        meta = json.loads((folder / "run.json").read_text())
    except ValueError as exc:
        raise LabError(f"{folder / 'run.json'} is not valid JSON ({exc})",
                       hint="the run may have been cut off while writing; re-run it") from None
    check_schema(meta, folder)
    return folder


def load_run(path_or_run_id: str | Path, results_dir: Path = RESULTS_DIR) -> RunData:
    """Every table and failure of one run. LabError for a missing folder or another schema."""
    folder = resolve(path_or_run_id, results_dir)
    run = RunData(folder, read_meta(folder))
    for csv_path in sorted(folder.glob("*.csv")):
        frame = read_table(csv_path, run.problems)
        if frame is not None:
            run.tables[csv_path.stem] = frame
    for failures in sorted(folder.glob("*/failures")):
        items = []
        for path in sorted(failures.glob("*.json")):
            try:
                items.append(json.loads(path.read_text()))
            except (OSError, ValueError) as exc:
                run.problems.append(f"{path.relative_to(folder)} could not be read ({exc})")
        if items:
            run.failures[failures.parent.name] = items
    from analysis.samples import attach_intervals  # it reads runs: imported here, not above

    attach_intervals(run)
    return run


def read_table(path: Path, problems: list[str]) -> pd.DataFrame | None:
    """A tidy table with clean types; None (and a note in problems) when unreadable."""
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=list(ROW_COLUMNS))
    except (OSError, ValueError) as exc:
        problems.append(f"{path.name} could not be read ({exc})")
        return None
    if frame.empty:
        return pd.DataFrame(columns=list(ROW_COLUMNS))
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        problems.append(f"{path.name} lacks the column(s) {', '.join(missing)}; not analysed")
        return None
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    for column, default in (("flags", ""), ("unit", ""), ("variant", "default"), ("knobs", "{}"),
                            ("repetition", 0), ("experiment", path.stem)):
        if column not in frame.columns:
            frame[column] = default
        if isinstance(default, str):  # an all-empty column reads as float NaN
            frame[column] = frame[column].astype(object).fillna(default).astype(str)
        else:
            frame[column] = frame[column].fillna(default)
    for column in ("runtime", "model"):
        if column not in frame.columns:
            frame[column] = frame["target"].astype(str).str.partition("/")[
                0 if column == "runtime" else 2]
    return frame


def read_pacer(run: RunData, relative: str) -> pd.DataFrame | None:
    """A pacer record file (one request per row; ns from the pacer's start), or None."""
    path = run.raw_path(relative)
    try:
        frame = pd.read_csv(path, keep_default_na=False)
    except (OSError, ValueError):
        return None
    if any(c not in frame.columns for c in PACER_COLUMNS):
        return None
    return frame
