"""Tables for the report: formatted cells with a sort key, built from aggregates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from analysis.findings import blocking_verdicts
from analysis.quality import knobs_text
from analysis.stats import fmt, parameter_columns, params_label, select

MAX_GENERIC_ROWS = 600


@dataclass(frozen=True)
class Cell:
    text: str
    sort: str | float = ""   # numeric cells sort by number, others by text


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
    return Cell(fmt(value, unit), float(value))  # type: ignore[arg-type]


def text(value: object) -> Cell:
    shown = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return Cell(shown, shown)


def _name(target: str, variant: str) -> str:
    return target if variant == "default" else f"{target} ({variant})"


def sweep_table(agg: pd.DataFrame) -> Table:
    metrics = (("requests_per_s", "req/s", ""), ("latency_p50", "p50 (ms)", "ms"),
               ("latency_p99", "p99 (ms)", "ms"), ("errors", "errors", ""),
               ("requests_per_cpu_s", "req/CPU-s", ""))
    table = Table("Sweep medians per target, endpoint and connections",
                  ["target", "endpoint", "connections", *[m[1] for m in metrics],
                   "req/s min-max", "n", "flags"],
                  [False, False, True, *[True] * len(metrics), False, True, False])
    rates = agg[agg["metric"] == "requests_per_s"]
    for _, rate in rates.sort_values(["target", "variant", "endpoint", "connections"]).iterrows():
        point = select(agg, target=rate["target"], variant=rate["variant"],
                       endpoint=rate["endpoint"], connections=rate["connections"])
        cells = [text(_name(rate["target"], rate["variant"])), text(rate["endpoint"]),
                 num(rate["connections"])]
        for metric, _, unit in metrics:
            found = point[point["metric"] == metric]
            cells.append(num(found["median"].iloc[0] if not found.empty else None, unit))
        spread = (f"{fmt(rate['low'])} - {fmt(rate['high'])}" if rate["n"] >= 2
                  else "n/a (1 repetition)")
        flags = ";".join(sorted({f for fl in point["flags"] for f in fl.split(";") if f}))
        table.rows.append([*cells, text(spread), num(rate["n"]), text(flags or "-")])
    return table


def verdict_table(agg: pd.DataFrame) -> Table:
    table = Table("Blocking verdicts: /ping p99 with /cpu bursts vs a fully blocked loop",
                  ["target", "phase", "p99, no /cpu (ms)", "p99 (ms)", "executors k",
                   "theory, k (ms)", "theory, 1 loop (ms)", "share", "verdict", "n", "flags"],
                  [False, False, True, True, True, True, True, True, False, True, False])
    verdicts = blocking_verdicts(agg)
    for _, row in verdicts.iterrows():
        executors = row["executors"]
        table.rows.append([
            text(_name(row["target"], row["variant"])), text(row["phase"]),
            num(row["baseline_p99"], "ms"), num(row["p99"], "ms"),
            num(executors) if executors is not None and not pd.isna(executors)
            else Cell("per connection", 1e12),
            num(row["theory_p99"], "ms"), num(row["blocked_p99"], "ms"),
            num(row["share"], "ratio"), text(row["verdict"]), num(row["n"]),
            text(row["flags"] or "-")])
    return table


def ping_table(agg: pd.DataFrame) -> Table:
    metrics = ("latency_p50", "latency_p90", "latency_p99", "latency_p99_9", "latency_max")
    table = Table("/ping latency from intended send time (ms), per phase",
                  ["target", "phase", "p50", "p90", "p99", "p99.9", "max", "sent", "errors",
                   "n", "flags"],
                  [False, False, *[True] * 5, True, True, True, False])
    ping = select(agg, stream="ping")
    for (target, variant, phase), group in ping.groupby(["target", "variant", "phase"],
                                                        sort=True):
        cells = [text(_name(target, variant)), text(phase)]
        for metric in (*metrics, "sent", "errors"):
            found = group[group["metric"] == metric]
            cells.append(num(found["median"].iloc[0] if not found.empty else None,
                             "ms" if metric.startswith("latency") else ""))
        flags = ";".join(sorted({f for fl in group["flags"] for f in fl.split(";") if f}))
        table.rows.append([*cells, num(group["n"].max()), text(flags or "-")])
    return table


def generic_table(experiment: str, agg: pd.DataFrame) -> Table:
    params = parameter_columns(agg)
    table = Table(f"{experiment}: medians per target, parameters and metric",
                  ["target", "knobs", "parameters", "metric", "median", "unit", "min-max", "n",
                   "flags"], [False, False, False, False, True, False, False, True, False])
    for _, row in agg.head(MAX_GENERIC_ROWS).iterrows():
        spread = (f"{fmt(row['low'], row['unit'])} - {fmt(row['high'], row['unit'])}"
                  if row["n"] >= 2 else "n/a")
        table.rows.append([
            text(_name(row["target"], row.get("variant", "default"))),
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
