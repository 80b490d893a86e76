"""The threadpool experiment's numbers, from the tidy rows (medians over repetitions):
per request rank, per burst (target x CPUs x pool size) and per pool probe."""

from __future__ import annotations

import pandas as pd

from analysis.load import RunData
from analysis.stats import aggregate

SESSION = ["target", "cpus", "pool", "pool_knob"]
# Flags saying other processes took the server's CPUs: this experiment's, and the
# framework's noise flag where the run has one.
DISTURBED = ("cpu-starved", "noisy")
NO_POOL = 0   # the pool column of targets without one: a thread of its own per request


def pool_label(pool: object, knob: object = None) -> str:
    if not pool:
        return "no pool"
    return f"{knob}={int(pool)}" if knob and knob != "none" else f"P={int(pool)}"


def _agg(run: RunData) -> pd.DataFrame:
    frame = run.table("threadpool")
    if frame.empty or "pool" not in frame.columns:
        return pd.DataFrame()
    return aggregate(frame)


def completions(run: RunData) -> pd.DataFrame:
    """One row per burst and rank: measured and theory completion (ms), the theory's t."""
    agg = _agg(run)
    if agg.empty:
        return agg
    wide = _wide(agg, ["completion_ms", "theory_completion_ms"], "rank")
    t = agg[agg["metric"] == "t_ms"].set_index(SESSION)["median"].rename("t_ms")
    return wide.join(t, on=SESSION).rename(
        columns={"completion_ms": "measured", "theory_completion_ms": "theory"})


def bursts(run: RunData) -> pd.DataFrame:
    """One row per target, CPU level and pool size: the burst measured and in theory."""
    ranks = completions(run)
    if ranks.empty:
        return ranks
    agg = _agg(run)
    rows = []
    for key, group in ranks.groupby(SESSION, sort=True):
        group = group.sort_values("rank")
        mine = agg.set_index(SESSION).loc[key]
        medians = dict(zip(mine["metric"], mine["median"], strict=True))
        row = dict(zip(SESSION, key, strict=True))
        measured, theory = group["measured"], group["theory"]
        complete = measured.notna().all()
        row.update({
            "requests": len(group), "single_ms": medians.get("single_ms"),
            "t_ms": medians.get("t_ms"),
            "iter": medians.get("iter"), "failed": medians.get("failed"),
            "generator_share": medians.get("generator_share"),
            "first": measured.iloc[0], "p50": medians.get("completion_p50_ms"),
            "mean": measured.mean() if complete else None,
            "max": medians.get("completion_max_ms"),
            "theory_first": theory.iloc[0], "theory_p50": medians.get("theory_completion_p50_ms"),
            "theory_mean": theory.mean(), "theory_max": medians.get("theory_completion_max_ms"),
            "n": int(mine["n"].min()), "flags": ";".join(sorted(
                {f for fl in mine["flags"] for f in str(fl).split(";") if f}))})
        row["ratio"] = row["mean"] / row["theory_mean"] if row["mean"] else None
        row["disturbed"] = any(f in row["flags"].split(";") for f in DISTURBED)
        rows.append(row)
    return pd.DataFrame(rows)


def probes(run: RunData) -> pd.DataFrame:
    """One row per probe time: latency measured and in theory (ms), per burst."""
    agg = _agg(run)
    if agg.empty or "probe_at_ms" not in agg.columns:
        return pd.DataFrame()
    wide = _wide(agg, ["probe_latency_ms", "theory_probe_latency_ms"], "probe_at_ms")
    return wide.rename(columns={"probe_latency_ms": "measured",
                                "theory_probe_latency_ms": "theory"})


def _wide(agg: pd.DataFrame, metrics: list[str], by: str) -> pd.DataFrame:
    """One row per burst and `by`, a column per metric (NaN medians, failures, kept)."""
    rows = agg[agg["metric"].isin(metrics)]
    if rows.empty:
        return pd.DataFrame()
    wide = rows.set_index([*SESSION, by, "metric"])["median"].unstack("metric")
    return wide.reindex(columns=metrics).reset_index()
