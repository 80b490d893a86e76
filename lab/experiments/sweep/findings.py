"""Sweep findings: sentences whose every number comes from the aggregated data.

`closed` is the aggregate of the closed-loop rows (goodput vs connections), `opened` of
the open-loop rows (latency vs offered load); sweep/analysis.py splits them.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.content import Finding, label
from analysis.stats import fmt, ratio_text, sleep_ms

PREFERRED_CONNECTIONS = 64
COLLAPSE_SHARE = 0.5   # goodput below this share of the target's own peak: collapsed
SLEEP_CEILING_SHARE = 0.8
# The knee of latency vs load: the first offered load whose p99 is this many times the
# p99 at the lowest load measured (and over KNEE_FLOOR_MS, so microseconds do not count).
KNEE_FACTOR = 5.0
KNEE_FLOOR_MS = 1.0


def comparison_level(agg: pd.DataFrame) -> int | None:
    """The connection level to compare targets at: 64 if most targets have it."""
    rates = agg[agg["metric"] == "goodput_per_s"].dropna(subset=["median"])
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


def sweep_findings(closed: pd.DataFrame, opened: pd.DataFrame) -> list[Finding]:
    if closed.empty or "endpoint" not in closed.columns:
        return [Finding("sweep", "No closed-loop sweep measurements.", "note")]
    findings: list[Finding] = []
    for endpoint in sorted(closed["endpoint"].dropna().unique()):
        rows = closed[closed["endpoint"] == endpoint]
        level = comparison_level(rows)
        if level is None:
            continue
        at = rows[rows["connections"] == level]
        if sleep_ms(endpoint):  # a timer-bound endpoint: the ceiling is what to compare with
            findings += _sleep_ceiling(endpoint, level, at)
        else:
            findings += _fastest(endpoint, level, at) + _efficiency(endpoint, level, at)
        findings += _collapse(endpoint, rows) + _setup(endpoint, rows)
    return findings + knee_findings(opened)


def _fastest(endpoint: str, level: int, at: pd.DataFrame) -> list[Finding]:
    ranked = _ranking(at[at["metric"] == "goodput_per_s"])
    if ranked.empty:
        return []
    top = ranked.iloc[0]
    values = {f"{_name(top)} goodput_per_s": top["median"]}
    text = (f"{endpoint} at {level} connections: {_name(top)} served the most, "
            f"{fmt(top['median'])} responses/s (2xx, steady state)")
    others = ranked.iloc[1:]
    if len(others) > 6:
        others = pd.concat([others.iloc[:3], others.iloc[-1:]])
    parts = []
    for _, row in others.iterrows():
        values[f"{_name(row)} goodput_per_s"] = row["median"]
        ratio = top["median"] / row["median"] if row["median"] > 0 else float("inf")
        slower = "as fast, to 0.5 %" if ratio < 1.005 else f"{ratio_text(ratio)} fewer"
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
            text += " (the lead is beyond noise: their intervals do not overlap)"
    return [Finding("sweep", text + ".", values=values, headline=True)]


def _sleep_ceiling(endpoint: str, level: int, at: pd.DataFrame) -> list[Finding]:
    ms = sleep_ms(endpoint) or 0.0
    ceiling = level / (ms / 1000.0)
    ranked = _ranking(at[at["metric"] == "goodput_per_s"])
    if ranked.empty:
        return []
    reached = ranked[ranked["median"] >= SLEEP_CEILING_SHARE * ceiling]
    low = ranked.iloc[-1]
    text = (f"{endpoint} at {level} connections: the ceiling is {fmt(ceiling)} responses/s "
            f"({level} connections / {fmt(ms)} ms); {len(reached)} of {len(ranked)} target(s) "
            f"reached {SLEEP_CEILING_SHARE:.0%} of it; lowest {_name(low)} with "
            f"{fmt(low['median'])}/s ({low['median'] / ceiling:.0%}).")
    return [Finding("sweep", text, values={"ceiling": ceiling, "lowest": low["median"]},
                    headline=True)]


def _efficiency(endpoint: str, level: int, at: pd.DataFrame) -> list[Finding]:
    eff = _ranking(at[at["metric"] == "requests_per_cpu_s"])
    if len(eff) < 2 or eff.iloc[-1]["median"] <= 0:
        return []
    best, worst = eff.iloc[0], eff.iloc[-1]
    return [Finding("sweep", (
        f"CPU efficiency on {endpoint} at {level} connections: {_name(best)} served "
        f"{fmt(best['median'])} responses per server CPU-second, "
        f"{ratio_text(best['median'] / worst['median'])} as many as {_name(worst)} "
        f"({fmt(worst['median'])}, the fewest)."),
        values={"best": best["median"], "worst": worst["median"]})]


def _collapse(endpoint: str, rows: pd.DataFrame) -> list[Finding]:
    findings = []
    levels = sorted(rows["connections"].dropna().unique())
    for (target, variant), group in rows.groupby(["target", "variant"], sort=True):
        name = label(target, variant)
        starved = group[(group["metric"] == "connections_never_served") & (group["median"] > 0)]
        for _, row in starved.sort_values("connections").iterrows():
            at = group[group["connections"] == row["connections"]]
            drops = at[at["metric"] == "listen_drops"]["median"]
            queued = at[at["metric"] == "accept_queue"]["median"]
            why = "" if queued.empty else (
                f"; {fmt(queued.iloc[0])} were still in the kernel's accept queue at the "
                "end, connected as the client sees it but never accepted"
                if queued.iloc[0] > 0
                else "; none in the kernel's accept queue: the server accepted them and "
                     "queued them itself")
            why += (f"; the kernel dropped {fmt(drops.iloc[0])} handshakes meanwhile because "
                    "the accept queue was full" if not drops.empty and drops.iloc[0] > 0
                    else "")
            findings.append(Finding("sweep", (
                f"{name} on {endpoint}: {fmt(row['median'])} of {int(row['connections']):,} "
                f"connections were never served (a response never came while others were "
                f"answered: they waited in a queue, e.g. for a free worker{why})."),
                values={"connections": row["connections"], "never_served": row["median"]},
                headline=True))
        errors = group[(group["metric"] == "errors") & (group["median"] > 0)]
        if not errors.empty:
            first = errors.sort_values("connections").iloc[0]
            at = group[group["connections"] == first["connections"]]
            kinds = at[at["metric"].str.startswith("errors_") & (at["median"] > 0)]
            detail = ", ".join(f"{m.removeprefix('errors_')} {fmt(v)}"
                               for m, v in zip(kinds["metric"], kinds["median"], strict=True))
            findings.append(Finding("sweep", (
                f"{name} on {endpoint}: failed requests from {int(first['connections']):,} "
                f"connections ({fmt(first['median'])}{': ' + detail if detail else ''})."),
                values={"connections": first["connections"], "errors": first["median"]},
                headline=True))
        findings += _fell(name, endpoint, group)
    if not findings:
        if len(levels) < 2:
            text = (f"{endpoint}: only {int(levels[0]) if levels else 0} connections were "
                    "measured, so this run cannot show which target collapses at which level.")
        else:
            text = (f"{endpoint}: no target starved a connection, failed a request or lost "
                    f"more than {COLLAPSE_SHARE:.0%} of its peak goodput up to "
                    f"{int(levels[-1]):,} connections.")
        findings.append(Finding("sweep", text, "note"))
    return findings


def _fell(name: str, endpoint: str, group: pd.DataFrame) -> list[Finding]:
    rates = group[group["metric"] == "goodput_per_s"].dropna(subset=["median"])
    rates = rates.sort_values("connections")
    if len(rates) < 2:
        return []
    peak = rates.loc[rates["median"].idxmax()]
    after = rates[(rates["connections"] > peak["connections"])
                  & (rates["median"] < COLLAPSE_SHARE * peak["median"])]
    if after.empty:
        return []
    low = after.iloc[0]
    if pd.isna(low["low"]) or pd.isna(peak["low"]):
        noise = " (too few repetitions for an interval: not checked against noise)"
    elif low["high"] >= peak["low"]:
        noise = " (their intervals overlap: may be noise)"
    else:
        noise = ""
    return [Finding("sweep", (
        f"{name} on {endpoint}: goodput fell to {low['median'] / peak['median']:.0%} of its "
        f"peak ({fmt(peak['median'])}/s at {int(peak['connections']):,} connections) at "
        f"{int(low['connections']):,} connections ({fmt(low['median'])}/s){noise}."),
        values={"peak": peak["median"], "low": low["median"]}, headline=True)]


def _setup(endpoint: str, rows: pd.DataFrame) -> list[Finding]:
    """How long the largest level took until every connection had its first answer."""
    setup = rows[rows["metric"] == "setup_s"]
    if setup.empty:
        return []
    top = setup["connections"].max()
    ranked = _ranking(setup[setup["connections"] == top])
    if len(ranked) < 2:
        return []
    slow, fast = ranked.iloc[0], ranked.iloc[-1]
    never = rows[(rows["connections"] == top) & (rows["metric"] == "setup_s")
                 & rows["median"].isna()]
    text = (f"Set-up on {endpoint} at {int(top):,} connections (until every connection had "
            f"its first response, outside the steady window): fastest {_name(fast)} in "
            f"{fmt(fast['median'] * 1000, 'ms', True)}, slowest {_name(slow)} in "
            f"{fmt(slow['median'] * 1000, 'ms', True)}")
    if not never.empty:
        text += f"; {len(never)} never answered every connection"
    return [Finding("sweep", text + ".", values={"fastest_s": fast["median"],
                                                 "slowest_s": slow["median"]})]


def knee(group: pd.DataFrame) -> tuple[float, float, float] | None:
    """(load share at the knee, p99 there, p99 at the lowest load) for one target's
    open-loop p99s, or None when p99 never rose KNEE_FACTOR times (or there is no data)."""
    p99 = group[group["metric"] == "latency_p99"].dropna(subset=["median"])
    p99 = p99.sort_values("load")
    if len(p99) < 2:
        return None
    base = float(p99["median"].iloc[0])
    for _, row in p99.iloc[1:].iterrows():
        value = float(row["median"])
        if value > KNEE_FLOOR_MS and (math.isinf(value) or value > KNEE_FACTOR * base):
            return float(row["load"]), value, base
    return None


def knee_findings(opened: pd.DataFrame) -> list[Finding]:
    if opened.empty or "load" not in opened.columns:
        return []
    found = []
    for (target, variant), group in opened.groupby(["target", "variant"], sort=True):
        name = label(target, variant)
        loads = sorted(group["load"].dropna().unique())
        point = knee(group)
        peak = group[group["metric"] == "peak_per_s"]["median"].max()
        if point is None:
            found.append(Finding("sweep", (
                f"{name}: /ping p99 stayed within {KNEE_FACTOR:g}x of its low-load value up "
                f"to {loads[-1]:.0%} of its closed-loop peak ({fmt(peak)}/s)."),
                values={"peak": peak}))
            continue
        share, value, base = point
        found.append(Finding("sweep", (
            f"{name}: the knee of latency vs load is at {share:.0%} of its closed-loop peak "
            f"({fmt(peak)}/s): /ping p99 {fmt(value, 'ms', True)} there, against "
            f"{fmt(base, 'ms', True)} at {loads[0]:.0%}."),
            values={"knee_share": share, "p99": value, "base_p99": base, "peak": peak},
            headline=True))
    return found
