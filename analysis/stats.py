"""Repetitions -> one value per measurement: the median, with a confidence interval.

Two interval methods, both distribution-free, each stated wherever an interval is shown:

- over repetitions (n >= 2): order statistics. [x_(k), x_(n+1-k)] of n independent
  repetitions contains the true median with probability 1 - 2 P(Binomial(n, 1/2) < k);
  the narrowest with at least 95 % is chosen, and where n is too small for 95 % (n <= 5)
  the min-max with its exact coverage (75 % for n = 3, 94 % for n = 5). n = 2 (50 %) and
  n = 1 get no interval: "cannot tell".
- within one repetition, for a latency percentile with per-request records in the run
  (analysis.samples): the order statistics of the requests around the percentile's rank
  (binomial, normal approximation), widened for the requests' autocorrelation (a stall
  delays many consecutive requests, so they are not independent): the effective number of
  requests is N / tau, tau = 1 + 2 x the sum of the initial positive autocorrelations of
  "at or below the percentile". Fewer than 5 effective requests on either side of the
  percentile: "cannot tell" (e.g. p99.9 of 1,600 requests).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from lab.results import ROW_COLUMNS

# What identifies one measured configuration, besides the experiment's own parameters.
CONFIG_COLUMNS = ("target", "runtime", "model", "backend", "variant", "knobs")
AGGREGATE_COLUMNS = ("median", "low", "high", "n", "repetitions", "confidence", "method")
# Per-row intervals within one repetition (analysis.samples adds them to a run's tables).
ROW_INTERVAL_COLUMNS = ("ci_low", "ci_high", "ci_confidence", "ci_method")
NOT_PARAMETERS = {*ROW_COLUMNS, "metric", "value", "unit", "flags", *AGGREGATE_COLUMNS,
                  *ROW_INTERVAL_COLUMNS}
CONFIDENCE = 0.95
MIN_COVERAGE = 0.75    # an interval over repetitions that covers the median less often: none
MIN_TAIL = 5           # effective requests needed on each side of a percentile
REPETITIONS_METHOD = "order statistics over repetitions"
REQUESTS_METHOD = "order statistics over requests, widened for their autocorrelation"
CI_METHOD = (
    "median over repetitions with a distribution-free interval: order statistics of the "
    "repetitions, the narrowest covering the true median with at least 95 %, else min-max "
    "with its exact coverage (75 % for n = 3, 94 % for n = 5; n = 1 or 2: 'cannot tell'); "
    "with one repetition, a latency percentile gets a 95 % interval from its per-request "
    "records (order statistics of the requests, widened for their autocorrelation), or "
    "'cannot tell' when fewer than 5 effective requests lie beyond it")


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float
    method: str


def median_interval(values: Sequence[float]) -> Interval | None:
    """Order-statistic interval for the median of independent repetitions (see above)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n < 2:
        return None
    k, coverage = 1, 1 - 2.0 ** (1 - n)
    for depth in range(2, n // 2 + 1):
        deeper = 1 - 2 * float(sps.binom.cdf(depth - 1, n, 0.5))
        if deeper < CONFIDENCE:
            break
        k, coverage = depth, deeper
    if coverage < MIN_COVERAGE:
        return None
    return Interval(float(x[k - 1]), float(x[n - k]), round(coverage, 4), REPETITIONS_METHOD)


def autocorrelation_time(series: np.ndarray) -> float:
    """tau = 1 + 2 sum of the initial positive autocorrelations (Geyer's initial sequence):
    how many consecutive values carry the information of one independent value."""
    x = np.asarray(series, dtype=float) - np.mean(series)
    n = len(x)
    variance = float(x @ x) / max(n, 1)
    if n < 4 or variance == 0:
        return 1.0
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: n // 4] / (variance * n)
    lags = acf[1:]
    stop = int(np.argmax(lags <= 0)) if (lags <= 0).any() else len(lags)
    return max(1.0, 1.0 + 2.0 * float(lags[:stop].sum()))


def quantile_interval(samples: Sequence[float], percent: float) -> Interval | None:
    """Interval for the percent-th percentile of one repetition's requests, in the order
    they were sent (the order carries the autocorrelation); None: cannot tell."""
    x = np.asarray(samples, dtype=float)
    n, q = len(x), percent / 100
    if n == 0 or not 0 < q < 1:
        return None
    tau = autocorrelation_time((x <= nearest_rank(x.tolist(), percent)).astype(float))
    if n / tau * min(q, 1 - q) < MIN_TAIL:
        return None
    half = float(sps.norm.ppf(0.5 + CONFIDENCE / 2)) * math.sqrt(n * q * (1 - q) * tau)
    low_rank, high_rank = math.floor(n * q - half), math.ceil(n * q + half) + 1
    if low_rank < 1 or high_rank > n:
        return None
    ordered = np.sort(x)
    return Interval(float(ordered[low_rank - 1]), float(ordered[high_rank - 1]), CONFIDENCE,
                    REQUESTS_METHOD)


def parameter_columns(frame: pd.DataFrame) -> list[str]:
    """The experiment's own parameter columns (e.g. endpoint, connections; phase, stream)."""
    return [c for c in frame.columns if c not in NOT_PARAMETERS]


def _union_flags(values: pd.Series) -> str:
    flags = {f for v in values for f in str(v).split(";") if f and f != "nan"}
    return ";".join(sorted(flags))


def aggregate(frame: pd.DataFrame, keep: Sequence[str] = ()) -> pd.DataFrame:
    """One row per configuration x parameters x metric: median, its interval (low, high,
    confidence, method; NaN and '' when it cannot tell), n, repetitions and flags.

    n counts repetitions with a value; flags is the union of the repetitions' flags, so
    a flag raised once is never lost in the median. keep may ask for "values" (the
    repetitions' values, a list) and for any other column of a single repetition (its
    cell when the group has one row, else None), for lab.compare.
    """
    columns = [*CONFIG_COLUMNS, *parameter_columns(frame), "metric", "unit"]
    keys = [c for c in columns if c in frame.columns and c not in keep]
    out_columns = [*keys, "median", "low", "high", "n", "repetitions", "confidence", "method",
                   "flags", *keep]
    if frame.empty:
        return pd.DataFrame(columns=out_columns)
    grouped = frame.groupby(keys, dropna=False, sort=True)
    result = grouped["value"].agg(median="median", n="count")
    result["repetitions"] = grouped["repetition"].nunique()
    result["flags"] = grouped["flags"].agg(_union_flags)
    values = grouped["value"].agg(lambda v: v.dropna().tolist())
    within = (grouped[list(ROW_INTERVAL_COLUMNS)].first()
              if set(ROW_INTERVAL_COLUMNS) <= set(frame.columns) else None)
    intervals = []
    # positions, not labels: .loc cannot find a key holding NaN (a parameter a row lacks)
    for position, found in enumerate(values):
        interval = median_interval(found)
        if interval is None and len(found) == 1 and within is not None:
            row = within.iloc[position]
            if not pd.isna(row["ci_low"]):
                interval = Interval(float(row["ci_low"]), float(row["ci_high"]),
                                    float(row["ci_confidence"]), str(row["ci_method"]))
        intervals.append(interval)
    result["low"] = [i.low if i else math.nan for i in intervals]
    result["high"] = [i.high if i else math.nan for i in intervals]
    result["confidence"] = [i.confidence if i else math.nan for i in intervals]
    result["method"] = [i.method if i else "" for i in intervals]
    for column in keep:
        if column == "values":
            result["values"] = values
        else:
            cells = grouped[column].apply(list)
            result[column] = [c[0] if len(c) == 1 else None for c in cells]
    return result.reset_index()[out_columns]


def interval_text(row: pd.Series | dict, unit: str = "") -> str:
    """'12.1-13.0 (95 %)' for an aggregate row, or 'cannot tell (n = 1)'."""
    if pd.isna(row.get("low")) or pd.isna(row.get("high")):
        n = row.get("n")
        return f"cannot tell (n = {int(n)})" if not pd.isna(n) else "cannot tell"
    return (f"{fmt(row['low'], unit)}-{fmt(row['high'], unit)} "
            f"({float(row['confidence']):.0%})")


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
    if math.isinf(x):  # a percentile that fell on a failed request: infinitely slow
        return "∞" if x > 0 else "-∞"
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


def nearest_rank(values, q: float) -> float:
    """The nearest-rank q-th percentile (0 < q <= 100): the smallest value with at least
    q % of the values at or below it. Exact with infinite values (failed requests), which
    interpolation is not: one failure among 100 requests makes p99 the slowest success,
    two make it infinite. NaN for no values."""
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is not in (0, 100]")
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return float(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)])
