"""Repetitions -> one value per measurement: the median, with the min-max range as interval.

Why min-max: runs have few repetitions (1 to 5), too few for a bootstrap to mean much.
The range of n independent repetitions contains the true median with probability
1 - 2^(1-n) (75 % for n = 3, 94 % for n = 5), whatever the distribution; with n = 1
there is no interval at all, and the report says so.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from lab.results import ROW_COLUMNS

# What identifies one measured configuration, besides the experiment's own parameters.
CONFIG_COLUMNS = ("target", "runtime", "model", "backend", "variant", "knobs")
AGGREGATE_COLUMNS = ("median", "low", "high", "n", "repetitions")
NOT_PARAMETERS = {*ROW_COLUMNS, "metric", "value", "unit", "flags", *AGGREGATE_COLUMNS}
CI_METHOD = ("median of the repetitions; interval = min-max over the n repetitions, which "
             "contains the true median with probability 1 - 2^(1-n) (75 % for n = 3, "
             "94 % for n = 5); n = 1 has no interval")


def parameter_columns(frame: pd.DataFrame) -> list[str]:
    """The experiment's own parameter columns (e.g. endpoint, connections; phase, stream)."""
    return [c for c in frame.columns if c not in NOT_PARAMETERS]


def coverage(n: int) -> float | None:
    """Probability that the min-max of n repetitions contains the median (None for n < 2)."""
    return 1 - 2.0 ** (1 - n) if n >= 2 else None


def _union_flags(values: pd.Series) -> str:
    flags = {f for v in values for f in str(v).split(";") if f and f != "nan"}
    return ";".join(sorted(flags))


def aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration x parameters x metric: median, low, high, n, flags.

    n counts repetitions with a value; flags is the union of the repetitions' flags, so
    a flag raised once is never lost in the median.
    """
    columns = [*CONFIG_COLUMNS, *parameter_columns(frame), "metric", "unit"]
    keys = [c for c in columns if c in frame.columns]
    out_columns = [*keys, "median", "low", "high", "n", "repetitions", "flags"]
    if frame.empty:
        return pd.DataFrame(columns=out_columns)
    grouped = frame.groupby(keys, dropna=False, sort=True)
    result = grouped["value"].agg(median="median", low="min", high="max", n="count")
    result["repetitions"] = grouped["repetition"].nunique()
    result["flags"] = grouped["flags"].agg(_union_flags)
    return result.reset_index()[out_columns]


def select(agg: pd.DataFrame, **where: object) -> pd.DataFrame:
    """Rows of an aggregate matching every column=value given (missing columns match none)."""
    mask = pd.Series(True, index=agg.index)
    for column, value in where.items():
        if column not in agg.columns:
            return agg.iloc[0:0]
        mask &= agg[column] == value
    return agg[mask]


def value(agg: pd.DataFrame, **where: object) -> float | None:
    """The median of the single matching row, or None (no row, several rows, or NaN)."""
    rows = select(agg, **where)
    if len(rows) != 1:
        return None
    found = rows["median"].iloc[0]
    return None if pd.isna(found) else float(found)


def fmt(number: object, unit: str = "", with_unit: bool = False) -> str:
    """A number as people read it: ms to 2-3 significant digits, counts with separators."""
    if number is None or (isinstance(number, float) and math.isnan(number)):
        return "n/a"
    x = float(number)  # type: ignore[arg-type]
    if unit in ("ms", "s"):
        text = f"{x:.2f}" if abs(x) < 1 else f"{x:.1f}" if abs(x) < 10 else f"{x:.0f}"
    elif unit == "ratio":
        text = f"{x:.2f}"
    elif abs(x) >= 100 or x == int(x):
        text = f"{x:,.0f}"
    else:
        text = f"{x:.3g}"
    return f"{text} {unit}" if with_unit and unit else text


def ratio_text(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.0f}x"


def sleep_ms(endpoint: str) -> float | None:
    """The ms of a /sleep?ms=N endpoint, else None."""
    found = re.search(r"/sleep\?ms=(\d+(?:\.\d+)?)", str(endpoint))
    return float(found.group(1)) if found else None


def params_label(row: pd.Series, params: list[str]) -> str:
    """'endpoint=/ping connections=64' for one row."""
    parts = []
    for column in params:
        cell = row.get(column)
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            continue
        if isinstance(cell, float) and cell == int(cell):
            cell = int(cell)
        parts.append(f"{column}={cell}")
    return " ".join(parts)


def primary_variants(frame: pd.DataFrame) -> set[tuple[str, str]]:
    """Per target, the variant that stands for it: 'default', else the one with fewest knobs
    (e.g. python/prefork runs only with WORKERS=16 in the blocking experiment)."""
    chosen = set()
    for target, group in frame.groupby("target", sort=True):
        variants = sorted(set(group["variant"].astype(str)),
                          key=lambda v: (v != "default", v.count(","), len(v), v))
        chosen.add((str(target), variants[0]))
    return chosen
