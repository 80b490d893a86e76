"""Does a run's tidy table still say what was measured? Two checks, both pure:

- against its points: <experiment>.csv is assembled from <experiment>/points/*.json, so
  every row must be there, unchanged;
- against its raw records: an experiment re-derives the summaries its raw records allow
  (Experiment.recompute: the pacer's per-request records, wrk's report) and each must
  match its row.

lab.grade flags a run that fails either (an edited CSV). Neither can catch a run whose
raw records were forged consistently with everything else.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis.stats import ROW_INTERVAL_COLUMNS

# Recomputing runs the measuring code on the same text: the same float comes out, so any
# difference beyond float printing is an edit.
RELATIVE_TOLERANCE = 1e-9
# Said once per run: left out when a row is quoted.
IDENTITY_COLUMNS = ("run_id", "experiment", "runtime", "model", "backend", "knobs")


@dataclass(frozen=True)
class Recomputed:
    """One summary re-derived from raw records: the tidy row it must match, and its value."""

    where: Mapping[str, object]   # target, variant, repetition, parameters, metric
    value: float | None
    source: str                   # the raw file it came from, relative to the run folder
    problem: str = ""             # why the raw file gave nothing (then where is empty)

    @classmethod
    def unreadable(cls, source: str, exc: Exception) -> Recomputed:
        return cls({}, None, source, f"{type(exc).__name__}: {str(exc)[:200]}")


@lru_cache(maxsize=1 << 16)  # tables repeat their values: targets, phases, levels
def canonical(value: object) -> str:
    """One spelling per value, whatever the CSV reader made of it (64, 64.0, '64')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(int(value))
    try:
        number = float(str(value))
    except ValueError:
        return str(value)
    if math.isnan(number):
        return ""
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


def _same(a: float | None, b: float | None) -> bool:
    missing_a = a is None or math.isnan(a)
    missing_b = b is None or math.isnan(b)
    if missing_a or missing_b:
        return missing_a and missing_b
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= RELATIVE_TOLERANCE * max(abs(a), abs(b), 1e-12)


def _describe(where: Mapping[str, object]) -> str:
    return " ".join(f"{k}={v}" for k, v in where.items())


def _as_float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def against_raw(experiment: str, table: pd.DataFrame,
                recomputed: Iterable[Recomputed]) -> list[str]:
    """Each recomputed summary against its row of the table: what disagrees, in words."""
    problems = []
    keyed: dict[tuple[str, ...], list[float | None]] = {}
    columns: tuple[str, ...] = ()
    for item in recomputed:
        if item.problem:
            continue  # unreadable() says so
        wanted = tuple(item.where)
        missing = [c for c in wanted if c not in table.columns]
        if missing:
            problems.append(f"{experiment}.csv has no column {', '.join(missing)} "
                            f"(needed for {_describe(item.where)})")
            continue
        if wanted != columns:
            columns = wanted
            keyed = {}
            for key, values in zip(
                    zip(*(table[c].map(canonical) for c in columns), strict=True),
                    table["value"].map(_as_float), strict=True):
                keyed.setdefault(key, []).append(values)
        found = keyed.get(tuple(canonical(v) for v in item.where.values()))
        if not found:
            problems.append(f"{experiment}.csv has no row {_describe(item.where)}, which "
                            f"{item.source} gives as {canonical(item.value) or 'empty'}")
        elif len(found) > 1:
            problems.append(f"{experiment}.csv has {len(found)} rows {_describe(item.where)}")
        elif not _same(found[0], item.value):
            problems.append(f"{experiment}.csv says {_describe(item.where)} is "
                            f"{canonical(found[0]) or 'empty'}, but {item.source} gives "
                            f"{canonical(item.value) or 'empty'}")
    return problems


def unreadable(recomputed: Iterable[Recomputed]) -> list[str]:
    """Raw files the measuring code cannot read again (edited, or from another lab version)."""
    return [f"{item.source} cannot be read again ({item.problem})" for item in recomputed
            if item.problem]


def against_points(experiment: str, folder: Path, table: pd.DataFrame,
                   limit: int = 5) -> list[str]:
    """The table against the rows of its point files (from which it was assembled)."""
    rows = []
    for path in sorted((folder / experiment / "points").glob("*.json")):
        try:
            rows += json.loads(path.read_text())["rows"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return [f"{path.relative_to(folder)} cannot be read ({type(exc).__name__})"]
    points = pd.DataFrame(rows)
    if points.empty and table.empty:
        return []
    # Intervals are attached on load from the raw requests (analysis.samples), not stored.
    table = table.drop(columns=[c for c in ROW_INTERVAL_COLUMNS if c in table.columns])
    columns = sorted(set(points.columns) | set(table.columns))

    def rows_of(frame: pd.DataFrame) -> Counter[tuple[str, ...]]:
        return Counter(zip(*(frame[c].map(canonical) if c in frame.columns
                             else pd.Series([""] * len(frame), dtype=str) for c in columns),
                           strict=True))

    extra = list((rows_of(table) - rows_of(points)).elements())
    if not extra and len(points) == len(table):
        return []
    if not extra:
        return [f"{experiment}.csv has {len(table)} rows; its point files have {len(points)}"]
    shown = [", ".join(f"{c}={v}" for c, v in zip(columns, row, strict=True)
                       if v and c not in IDENTITY_COLUMNS) for row in extra[:limit]]
    return [f"{experiment}.csv has a row its point files do not: {row}" for row in shown] + (
        [f"... and {len(extra) - limit} more such rows"] if len(extra) > limit else [])


def raw_file(folder: Path, experiment: str, key: object, suffix: str) -> Path | None:
    """<experiment>/raw/<key>.<suffix> of a point, if it exists; a key that is not a plain
    file name (a point file edited to point elsewhere) finds nothing."""
    name = f"{key}.{suffix}"
    if not isinstance(key, str) or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = folder / experiment / "raw" / name
    return path if path.is_file() and not path.is_symlink() else None


def missing_raw(experiment: str, folder: Path) -> list[str]:
    """Raw files that point files name but the run does not have."""
    problems = []
    root = folder.resolve()
    for path in sorted((folder / experiment / "points").glob("*.json")):
        try:
            raw = (json.loads(path.read_text()).get("info") or {}).get("raw")
        except (OSError, ValueError, AttributeError):
            continue  # against_points says so
        if not raw:
            continue
        target = (folder / str(raw)).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            problems.append(f"{path.relative_to(folder)} names the raw file {raw}, which the "
                            "run does not have")
    return problems
