"""Blocking verdicts, computed: how much of a fully blocked loop's stall a target showed.

share = (/ping p99 with /cpu bursts - p99 without) / p99 of one fully blocked loop
with the schedule that ran (theory.py, replayed by measure.py). The prose that explains
them is findings.py.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.stats import select, value

# Verdicts: share = (inline p99 - baseline p99) / p99 of one fully blocked loop.
BLOCKED_SHARE = 0.6   # at least this share of a blocked loop's stall: "behaves like a blocked loop"
ISOLATED_SHARE = 0.15  # below this share: "isolated"; in between: "partly isolated"
BLOCKED, PARTLY, ISOLATED = "behaves like a blocked loop", "partly isolated", "isolated"
VERDICT_RULE = (f"share = (p99 with /cpu - p99 without) / p99 of a single fully blocked loop "
                f"(queueing theory); share >= {BLOCKED_SHARE:g}: {BLOCKED}; "
                f"{ISOLATED_SHARE:g} <= share < {BLOCKED_SHARE:g}: {PARTLY}; "
                f"share < {ISOLATED_SHARE:g}: {ISOLATED}")


def verdict(share: float | None) -> str:
    if share is None or math.isnan(share):
        return "n/a"
    if share >= BLOCKED_SHARE:
        return BLOCKED
    return PARTLY if share >= ISOLATED_SHARE else ISOLATED


def _blocked_loop_p99(group: pd.DataFrame, phase: str) -> float:
    """p99 a single fully blocked loop would have added with the schedule that ran
    (measure.py replays it); NaN where the run did not record it."""
    found = value(group, phase=phase, metric="blocked_loop_latency_p99")
    return math.nan if found is None else found


def blocking_verdicts(agg: pd.DataFrame) -> pd.DataFrame:
    """Per target x variant x phase with /cpu (inline, offload): p99s, theory, share, verdict."""
    rows = []
    ping = select(agg, stream="ping")
    for (target, variant), group in ping.groupby(["target", "variant"], sort=True):
        base = value(group, phase="baseline", metric="latency_p99")
        for phase in ("inline", "offload"):
            p99 = value(group, phase=phase, metric="latency_p99")
            phase_rows = select(group, phase=phase)
            if p99 is None or phase_rows.empty:
                continue
            cpu_ms = float(phase_rows["cpu_ms"].iloc[0]) if "cpu_ms" in group else math.nan
            rate = (float(phase_rows["cpu_rate_per_s"].iloc[0]) if "cpu_rate_per_s" in group
                    else math.nan)
            blocked = _blocked_loop_p99(group, phase)
            excess = max(0.0, p99 - (base or 0.0))
            share = excess / blocked if blocked and blocked > 0 else math.nan
            flags = ";".join(sorted({f for fl in phase_rows["flags"] for f in fl.split(";")
                                     if f}))
            rows.append({
                "target": target, "variant": variant, "phase": phase, "cpu_ms": cpu_ms,
                "cpu_rate_per_s": rate, "baseline_p99": base, "p99": p99,
                "theory_p99": value(group, phase=phase, metric="theory_latency_p99"),
                "executors": value(group, phase=phase, metric="executors"),
                "blocked_p99": blocked, "share": share, "verdict": verdict(share),
                "n": int(select(phase_rows, metric="latency_p99")["n"].iloc[0]),
                "flags": flags})
    return pd.DataFrame(rows)
