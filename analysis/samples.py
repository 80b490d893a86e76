"""Per-request samples behind a run's latency percentiles, from the raw records it kept.

A point whose raw file is a pacer record file (info.raw, *.pacer.csv or *.pacer.csv.gz) has,
per stream, the latency of every request from its intended send time, a request without a
2xx response counting as infinitely slow. A tidy row `latency_pNN` of that point and
stream gets an interval within its repetition (analysis.stats.quantile_interval) and
lab.compare can test it over requests, but only when the requests reproduce the recorded
value (the nearest-rank percentile, as the experiments compute it): a value defined
otherwise gets no interval rather than a wrong one.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from analysis.load import RunData, read_pacer
from analysis.stats import nearest_rank, quantile_interval

PERCENTILE = re.compile(r"^latency_p(\d+)(?:_(\d+))?$")
# Row fields that are not the identity of a point and stream.
NOT_IDENTITY = {"run_id", "experiment", "runtime", "model", "backend", "knobs", "metric",
                "value", "unit", "flags"}


def percent_of(metric: str) -> float | None:
    """latency_p99 -> 99.0, latency_p99_9 -> 99.9; None for other metrics."""
    found = PERCENTILE.match(str(metric))
    if not found:
        return None
    return float(f"{found.group(1)}.{found.group(2) or 0}")


def _norm(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def identity(row: dict | pd.Series, columns: list[str]) -> tuple[str, ...]:
    return tuple(_norm(row.get(c)) for c in columns)


def request_samples(run: RunData, experiment: str) -> list[tuple[dict, np.ndarray]]:
    """(identity of a point and stream, latencies in ms in the order intended, inf for a
    request without a 2xx response)."""
    found = []
    for _, point in run.point_records(experiment):
        raw = (point.get("info") or {}).get("raw")
        if not (isinstance(raw, str) and raw.endswith((".pacer.csv", ".pacer.csv.gz"))):
            continue
        records = read_pacer(run, raw)
        if records is None:
            continue
        records = records.sort_values("intended_ns")
        streams = {}
        for row in point.get("rows") or []:
            stream = row.get("stream")
            if percent_of(row.get("metric", "")) is None or stream in streams:
                continue
            mine = records[records["stream"] == stream]
            latency = (pd.to_numeric(mine["done_ns"]) - mine["intended_ns"]) / 1e6
            good = mine["status"].between(200, 299)
            streams[stream] = np.where(good, latency, np.inf).astype(float)
            found.append(({k: v for k, v in row.items() if k not in NOT_IDENTITY},
                          streams[stream]))
    return found


def reproduces(samples: np.ndarray, percent: float, recorded: float) -> bool:
    if samples.size == 0:
        return False
    found = nearest_rank(samples.tolist(), percent)
    if math.isinf(found) or math.isinf(float(recorded)):
        return found == float(recorded)
    return math.isclose(found, float(recorded), rel_tol=1e-6, abs_tol=1e-9)


def matched(table: pd.DataFrame, found: list[tuple[dict, np.ndarray]]) -> list[object]:
    """Per row of a tidy table: the requests behind it (a latency_pNN row of a point and
    stream in found), else None."""
    if not found:
        return [None] * len(table)
    columns = sorted({c for ident, _ in found for c in ident} & set(table.columns))
    by_identity = {identity(ident, columns): samples for ident, samples in found}
    return [by_identity.get(identity(row, columns)) if percent_of(row["metric"]) else None
            for _, row in table.iterrows()]


def attach_intervals(run: RunData) -> None:
    """Add ci_low, ci_high, ci_confidence, ci_method to every latency_pNN row of the run's
    tables whose requests are in the run (NaN and '' elsewhere)."""
    for experiment, frame in run.tables.items():
        found = request_samples(run, experiment) if not frame.empty else []
        if not found:
            continue
        intervals = []
        for samples, metric, value in zip(matched(frame, found), frame["metric"],
                                          frame["value"], strict=True):
            percent = percent_of(metric)
            ok = samples is not None and percent is not None and reproduces(samples, percent,
                                                                             value)
            intervals.append(quantile_interval(samples, percent) if ok else None)
        frame["ci_low"] = [i.low if i else math.nan for i in intervals]
        frame["ci_high"] = [i.high if i else math.nan for i in intervals]
        frame["ci_confidence"] = [i.confidence if i else math.nan for i in intervals]
        frame["ci_method"] = [i.method if i else "" for i in intervals]
