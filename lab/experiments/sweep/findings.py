"""Sweep findings: sentences whose every number comes from the aggregated data."""

from __future__ import annotations

import pandas as pd

from analysis.content import Finding, label
from analysis.stats import fmt, ratio_text, sleep_ms

PREFERRED_CONNECTIONS = 64
COLLAPSE_SHARE = 0.5   # requests/s below this share of the target's own peak: collapsed
SLEEP_CEILING_SHARE = 0.8


def comparison_level(agg: pd.DataFrame) -> int | None:
    """The connection level to compare targets at: 64 if most targets have it."""
    rates = agg[agg["metric"] == "requests_per_s"].dropna(subset=["median"])
    if rates.empty:
        return None
    per_level = rates.groupby("connections")["target"].nunique()
    if per_level.get(PREFERRED_CONNECTIONS, 0) == per_level.max():
        return PREFERRED_CONNECTIONS
    return int(per_level[per_level == per_level.max()].index.max())


def _ranking(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.dropna(subset=["median"]).sort_values("median", ascending=False)


def _name(row: pd.Series) -> str:
    return label(row["target"], row["variant"])


def sweep_findings(agg: pd.DataFrame) -> list[Finding]:
    if agg.empty or "endpoint" not in agg.columns:
        return [Finding("sweep", "No sweep measurements.", "note")]
    findings: list[Finding] = []
    for endpoint in sorted(agg["endpoint"].dropna().unique()):
        rows = agg[agg["endpoint"] == endpoint]
        level = comparison_level(rows)
        if level is None:
            continue
        at = rows[rows["connections"] == level]
        if sleep_ms(endpoint):  # a timer-bound endpoint: the ceiling is what to compare with
            findings += _sleep_ceiling(endpoint, level, at)
        else:
            findings += _fastest(endpoint, level, at) + _latency_and_cpu(endpoint, level, at)
        findings += _collapse(endpoint, rows)
    return findings


def _fastest(endpoint: str, level: int, at: pd.DataFrame) -> list[Finding]:
    ranked = _ranking(at[at["metric"] == "requests_per_s"])
    if ranked.empty:
        return []
    top = ranked.iloc[0]
    values = {f"{_name(top)} requests_per_s": top["median"]}
    text = (f"{endpoint} at {level} connections: {_name(top)} was fastest with "
            f"{fmt(top['median'])} req/s")
    others = ranked.iloc[1:]
    if len(others) > 6:
        others = pd.concat([others.iloc[:3], others.iloc[-1:]])
    parts = []
    for _, row in others.iterrows():
        values[f"{_name(row)} requests_per_s"] = row["median"]
        ratio = top["median"] / row["median"] if row["median"] > 0 else float("inf")
        slower = "as fast, to 0.5 %" if ratio < 1.005 else f"{ratio_text(ratio)} slower"
        parts.append(f"{_name(row)} {fmt(row['median'])} ({slower})")
    if parts:
        skipped = len(ranked) - 1 - len(parts)
        text += "; " + ", ".join(parts) + (f" ({skipped} more in the table)" if skipped else "")
        second = ranked.iloc[1]
        if pd.isna(top["low"]) or pd.isna(second["low"]):
            text += (" (too few repetitions for an interval: gaps of a few % may be noise)")
        elif top["low"] <= second["high"]:
            text += (f" ({_name(top)} and {_name(second)} have overlapping intervals: the lead "
                     "may be noise)")
        else:
            text += " (their intervals do not overlap: the lead is beyond noise)"
    return [Finding("sweep", text + ".", values=values, headline=True)]


def _sleep_ceiling(endpoint: str, level: int, at: pd.DataFrame) -> list[Finding]:
    ms = sleep_ms(endpoint) or 0.0
    ceiling = level / (ms / 1000.0)
    ranked = _ranking(at[at["metric"] == "requests_per_s"])
    if ranked.empty:
        return []
    reached = ranked[ranked["median"] >= SLEEP_CEILING_SHARE * ceiling]
    low = ranked.iloc[-1]
    text = (f"{endpoint} at {level} connections: the ceiling is {fmt(ceiling)} req/s "
            f"({level} connections / {fmt(ms)} ms); {len(reached)} of {len(ranked)} target(s) "
            f"reached {SLEEP_CEILING_SHARE:.0%} of it; lowest {_name(low)} with "
            f"{fmt(low['median'])} req/s ({low['median'] / ceiling:.0%}).")
    return [Finding("sweep", text, values={"ceiling": ceiling, "lowest": low["median"]},
                    headline=True)]


def _latency_and_cpu(endpoint: str, level: int, at: pd.DataFrame) -> list[Finding]:
    findings = []
    p99 = _ranking(at[at["metric"] == "latency_p99"])
    if len(p99) >= 2:
        lo, hi = p99.iloc[-1], p99.iloc[0]
        findings.append(Finding("sweep", (
            f"{endpoint} at {level} connections: lowest p99 {_name(lo)} "
            f"{fmt(lo['median'], 'ms', True)}, highest {_name(hi)} "
            f"{fmt(hi['median'], 'ms', True)}."),
            values={"lowest_p99": lo["median"], "highest_p99": hi["median"]}))
    eff = _ranking(at[at["metric"] == "requests_per_cpu_s"])
    if len(eff) >= 2 and eff.iloc[-1]["median"] > 0:
        best, worst = eff.iloc[0], eff.iloc[-1]
        findings.append(Finding("sweep", (
            f"CPU efficiency on {endpoint} at {level} connections: {_name(best)} served "
            f"{fmt(best['median'])} requests per server CPU-second, "
            f"{ratio_text(best['median'] / worst['median'])} as many as {_name(worst)} "
            f"({fmt(worst['median'])}, the fewest)."),
            values={"best": best["median"], "worst": worst["median"]}))
    return findings


def _collapse(endpoint: str, rows: pd.DataFrame) -> list[Finding]:
    findings = []
    levels = sorted(rows["connections"].dropna().unique())
    for (target, variant), group in rows.groupby(["target", "variant"], sort=True):
        name = label(target, variant)
        errors = group[(group["metric"] == "errors") & (group["median"] > 0)]
        if not errors.empty:
            first = errors.sort_values("connections").iloc[0]
            at = group[group["connections"] == first["connections"]]
            kinds = at[at["metric"].str.startswith("errors_") & (at["median"] > 0)]
            detail = ", ".join(f"{m.removeprefix('errors_')} {fmt(v)}"
                               for m, v in zip(kinds["metric"], kinds["median"], strict=True))
            findings.append(Finding("sweep", (
                f"{name} on {endpoint}: errors from {int(first['connections'])} connections "
                f"({fmt(first['median'])}{': ' + detail if detail else ''})."), "result",
                values={"connections": first["connections"], "errors": first["median"]},
                headline=True))
        rates = group[group["metric"] == "requests_per_s"].dropna(subset=["median"])
        rates = rates.sort_values("connections")
        if len(rates) >= 2:
            peak = rates.loc[rates["median"].idxmax()]
            after = rates[(rates["connections"] > peak["connections"])
                          & (rates["median"] < COLLAPSE_SHARE * peak["median"])]
            if not after.empty:
                low = after.iloc[0]
                if pd.isna(low["low"]) or pd.isna(peak["low"]):
                    noise = " (too few repetitions for an interval: not checked against noise)"
                elif low["high"] >= peak["low"]:
                    noise = " (their intervals overlap: may be noise)"
                else:
                    noise = ""
                findings.append(Finding("sweep", (
                    f"{name} on {endpoint}: requests/s fell to "
                    f"{low['median'] / peak['median']:.0%} of its peak ({fmt(peak['median'])} at "
                    f"{int(peak['connections'])} connections) at {int(low['connections'])} "
                    f"connections ({fmt(low['median'])}){noise}."),
                    values={"peak": peak["median"], "low": low["median"]}, headline=True))
    if not findings:
        if len(levels) < 2:
            text = (f"{endpoint}: only {int(levels[0]) if levels else 0} connections were "
                    "measured, so this run cannot show which target collapses at which level.")
        else:
            text = (f"{endpoint}: no target had errors or lost more than "
                    f"{COLLAPSE_SHARE:.0%} of its peak requests/s up to {int(levels[-1])} "
                    "connections.")
        findings.append(Finding("sweep", text, "note"))
    return findings
