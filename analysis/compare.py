"""Two runs side by side: medians, the ratio B/A, and whether the change is beyond noise.

"Noise" is each run's own spread: the min-max range over its repetitions. A change is
beyond noise when the two ranges do not overlap. With a single repetition on either
side there is no range, and the comparison says "n/a (1 repetition)" rather than guess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from rich.markup import escape
from rich.table import Table

from analysis.content import Analysable, Headline
from analysis.load import RunData, load_run
from analysis.stats import aggregate, fmt, parameter_columns, params_label

KEY = ["experiment", "target", "variant", "parameters", "metric", "unit"]
SINGLE = "n/a (1 repetition)"
COLUMNS = [*KEY, "median_a", "low_a", "high_a", "n_a", "median_b", "low_b", "high_b", "n_b",
           "ratio", "change"]


def _side(agg: pd.DataFrame, experiment: str, params: list[str],
          headline: Headline | None) -> pd.DataFrame:
    """The headline rows of one run's aggregate (every row for an unknown experiment)."""
    frame = agg.copy()
    if headline is not None:
        for column, wanted in headline.where.items():
            if column in frame.columns:
                frame = frame[frame[column] == wanted]
        if headline.metrics:
            frame = frame[frame["metric"].isin(headline.metrics)]
    frame["experiment"] = experiment
    frame["parameters"] = [params_label(row, params) for _, row in frame.iterrows()]
    return frame[[*KEY, "median", "low", "high", "n"]]


def change(row: pd.Series) -> str:
    """Beyond noise when the min-max ranges of the two runs do not overlap."""
    if pd.isna(row["n_a"]):
        return "only in B"
    if pd.isna(row["n_b"]):
        return "only in A"
    if pd.isna(row["median_a"]) or pd.isna(row["median_b"]):
        return "n/a (no value)"
    if min(row["n_a"], row["n_b"]) < 2:
        return SINGLE
    if row["low_b"] > row["high_a"]:
        return "beyond noise: higher"
    if row["high_b"] < row["low_a"]:
        return "beyond noise: lower"
    return "within noise"


def compare_aggregates(agg_a: pd.DataFrame, agg_b: pd.DataFrame, experiment: str,
                       headline: Headline | None = None) -> pd.DataFrame:
    """Pure: two aggregates (analysis.stats.aggregate) of one experiment -> comparison rows."""
    params = list(dict.fromkeys([*parameter_columns(agg_a), *parameter_columns(agg_b)]))
    if headline is not None:
        params = [p for p in params if p not in headline.where]
    a = _side(agg_a, experiment, [p for p in params if p in agg_a.columns], headline)
    b = _side(agg_b, experiment, [p for p in params if p in agg_b.columns], headline)
    merged = a.merge(b, on=KEY, how="outer", suffixes=("_a", "_b"))
    merged["ratio"] = [
        mb / ma if not (pd.isna(ma) or pd.isna(mb)) and ma != 0 else math.nan
        for ma, mb in zip(merged["median_a"], merged["median_b"], strict=True)]
    merged["change"] = merged.apply(change, axis=1) if not merged.empty else []
    return merged[COLUMNS]


def compare_runs(run_a: RunData | str | Path, run_b: RunData | str | Path,
                 experiments: Sequence[Analysable] = ()) -> pd.DataFrame:
    """Per experiment, target, parameters and headline metric: median A, median B, B/A and
    whether the change is beyond either run's spread over repetitions."""
    a = run_a if isinstance(run_a, RunData) else load_run(run_a)
    b = run_b if isinstance(run_b, RunData) else load_run(run_b)
    headlines = {e.name: e.headline for e in experiments}
    parts = []
    for experiment in [*a.experiments, *[e for e in b.experiments if e not in a.experiments]]:
        table_a, table_b = a.table(experiment), b.table(experiment)
        if table_a.empty and table_b.empty:
            continue
        parts.append(compare_aggregates(aggregate(table_a), aggregate(table_b), experiment,
                                        headlines.get(experiment)))
    frame = (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS))
    frame = frame.sort_values(["experiment", "target", "variant", "parameters", "metric"],
                              ignore_index=True)
    frame.attrs.update(run_a=a.run_id, run_b=b.run_id)
    return frame


def _side_text(median: float, low: float, high: float, n: float, unit: str) -> str:
    if pd.isna(n):
        return "-"
    text = fmt(median, unit)
    return text if n < 2 else f"{text} [{fmt(low, unit)}-{fmt(high, unit)}] n={int(n)}"


def render_comparison(df: pd.DataFrame) -> Table:
    """A rich Table of a comparison, readable in a terminal (ranges and n shown in text)."""
    run_a, run_b = df.attrs.get("run_a", "A"), df.attrs.get("run_b", "B")
    table = Table(title=escape(f"A = {run_a}  vs  B = {run_b}  (median [min-max], n repetitions)"),
                  show_lines=False)
    for column, justify in (("experiment", "left"), ("target", "left"), ("parameters", "left"),
                            ("metric", "left"), ("A", "right"), ("B", "right"),
                            ("B/A", "right"), ("change", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    both = df[~df["change"].isin(["only in A", "only in B"])]
    for _, row in both.iterrows():
        target = row["target"] if row["variant"] == "default" else (
            f"{row['target']} ({row['variant']})")
        unit = str(row["unit"])
        ratio = "n/a" if pd.isna(row["ratio"]) else f"{row['ratio']:.2f}"
        style = "bold" if str(row["change"]).startswith("beyond") else None
        cells = [str(row["experiment"]), target, str(row["parameters"]),
                 f"{row['metric']} ({unit})" if unit and unit != row["metric"] else
                 str(row["metric"]),
                 _side_text(row["median_a"], row["low_a"], row["high_a"], row["n_a"], unit),
                 _side_text(row["median_b"], row["low_b"], row["high_b"], row["n_b"], unit),
                 ratio, str(row["change"])]
        table.add_row(*[escape(c) for c in cells], style=style)
    if not len(df):
        table.caption = "Nothing to compare: the two runs share no experiment with results."
    else:
        beyond = int(df["change"].astype(str).str.startswith("beyond").sum())
        single = int((df["change"] == SINGLE).sum())
        only_a = int((df["change"] == "only in A").sum())
        only_b = int((df["change"] == "only in B").sum())
        table.caption = escape(
            f"{len(both)} comparisons; {beyond} beyond noise (min-max ranges do not overlap); "
            f"{single} with a single repetition on a side, not judged. Not shown: {only_a} "
            f"measurement(s) only in A, {only_b} only in B.")
    return table
