"""Tables for the report: formatted cells with a sort key, built from aggregates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from analysis.content import label
from analysis.quality import knobs_text
from analysis.stats import fmt, interval_text, parameter_columns, params_label

MAX_GENERIC_ROWS = 600


@dataclass(frozen=True)
class Cell:
    text: str
    sort: str | float = ""   # numeric cells sort by number, others by text
    css: str = ""            # classes: "code" (as written), "trace" (lines kept), "level-bad"


@dataclass
class Table:
    caption: str
    columns: list[str]
    numeric: list[bool]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""


def num(value: object, unit: str = "") -> Cell:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Cell("n/a", "")  # sorts below every number
    number = float(value)  # type: ignore[arg-type]
    return Cell(fmt(value, unit), max(-1e300, min(1e300, number)))  # inf sorts, as a number


def text(value: object) -> Cell:
    shown = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return Cell(shown, shown)


def generic_table(experiment: str, agg: pd.DataFrame) -> Table:
    params = parameter_columns(agg)
    table = Table(f"{experiment}: medians per target, parameters and metric",
                  ["target", "knobs", "parameters", "metric", "median", "unit", "interval", "n",
                   "flags"], [False, False, False, False, True, False, False, True, False])
    for _, row in agg.head(MAX_GENERIC_ROWS).iterrows():
        spread = interval_text(row, str(row["unit"]))
        table.rows.append([
            text(label(row["target"], row.get("variant", "default"))),
            text(knobs_text(row.get("knobs", "{}"))), text(params_label(row, params)),
            text(row["metric"]), num(row["median"], str(row["unit"])), text(row["unit"]),
            text(spread), num(row["n"]), text(row["flags"] or "-")])
    if len(agg) > MAX_GENERIC_ROWS:
        table.note = (f"The first {MAX_GENERIC_ROWS} of {len(agg)} rows are shown; the rest "
                      "are in the run's CSV file.")
    return table


def frame_table(caption: str, frame: pd.DataFrame) -> Table:
    """Any small frame, every cell as text."""
    table = Table(caption, [str(c) for c in frame.columns], [False] * len(frame.columns))
    for _, row in frame.iterrows():
        table.rows.append([text(v) for v in row])
    return table
