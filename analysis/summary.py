"""Per-target summary: one row per target with its headline numbers and what went wrong."""

from __future__ import annotations

import pandas as pd

from analysis.findings import blocking_verdicts, primary_variants
from analysis.load import RunData
from analysis.quality import failure_table, flag_table
from analysis.stats import aggregate, fmt

COLUMNS = ["target", "version", "experiments", "peak_ping", "blocking", "flags", "failures",
           "failed"]


def _peak_ping(agg: pd.DataFrame, target: str) -> str:
    """'85,963 req/s at 64 conn.': the best /ping median over connection levels."""
    if agg.empty or "endpoint" not in agg.columns:
        return ""
    rates = agg[(agg["target"] == target) & (agg["endpoint"] == "/ping")
                & (agg["metric"] == "requests_per_s")].dropna(subset=["median"])
    if rates.empty:
        return ""
    best = rates.loc[rates["median"].idxmax()]
    return f"{fmt(best['median'])} req/s at {int(best['connections'])} conn."


def _blocking(verdicts: pd.DataFrame, primary: set[tuple[str, str]], target: str) -> str:
    """'behaves like a blocked loop -> isolated with offload=1' for the target's main variant."""
    if verdicts.empty:
        return ""
    rows = verdicts[verdicts["target"] == target]
    mask = [(t, v) in primary for t, v in zip(rows["target"], rows["variant"], strict=True)]
    rows = rows[pd.Series(mask, index=rows.index, dtype=bool)]
    by_phase = dict(zip(rows["phase"], rows["verdict"], strict=True))
    if not by_phase:
        return ""
    text = f"inline: {by_phase.get('inline', 'n/a')}"
    return text + (f"; offload=1: {by_phase['offload']}" if "offload" in by_phase else "")


def target_summary(run: RunData) -> pd.DataFrame:
    """Every target named in run.json or in a table: version, experiments with data, best
    /ping throughput, blocking verdicts, number of flagged measurements and failures."""
    names = set(run.meta.get("targets") or {})
    for frame in run.tables.values():
        if "target" in frame.columns:
            names |= set(frame["target"].dropna().astype(str))
    sweep = aggregate(run.table("sweep")) if not run.table("sweep").empty else pd.DataFrame()
    blocking = run.table("blocking")
    try:
        verdicts = blocking_verdicts(aggregate(blocking)) if not blocking.empty else pd.DataFrame()
    except (KeyError, ValueError):
        verdicts = pd.DataFrame()
    primary = primary_variants(verdicts) if not verdicts.empty else set()
    flags, failures = flag_table(run), failure_table(run)
    rows = []
    for name in sorted(names):
        info = (run.meta.get("targets") or {}).get(name) or {}
        measured = [e for e, f in run.tables.items()
                    if "target" in f.columns and (f["target"] == name).any()]
        try:
            peak = _peak_ping(sweep, name)
        except (KeyError, ValueError):
            peak = ""
        rows.append({"target": name, "version": str(info.get("runtime_version") or ""),
                     "experiments": ", ".join(measured) or "none", "peak_ping": peak,
                     "blocking": _blocking(verdicts, primary, name),
                     "flags": int((flags["target"] == name).sum()),
                     "failures": int((failures["target"] == name).sum()),
                     "failed": str(info.get("failed") or "")})
    return pd.DataFrame(rows, columns=COLUMNS)
