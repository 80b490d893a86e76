"""Threadpool findings: sentences whose every number comes from the bursts measured."""

from __future__ import annotations

import pandas as pd

from analysis.content import Finding
from analysis.stats import fmt
from lab.experiments.threadpool.bursts import NO_POOL, pool_label


def _ms(value: object) -> str:
    return fmt(value, "ms", True)


def threadpool_findings(bursts: pd.DataFrame, probes: pd.DataFrame) -> list[Finding]:
    if bursts.empty:
        return [Finding("threadpool", "No burst was measured.", "note")]
    clean = bursts[~bursts["disturbed"]]
    found = [*_time_slicing(clean), *_idle_cpu(clean), *_baseline(clean),
             *_probe_findings(probes)]
    for target, rows in bursts.groupby("target", sort=True):
        found.append(_target(str(target), rows))
    return found


def _target(target: str, rows: pd.DataFrame) -> Finding:
    first = rows.iloc[0]
    parts = []
    for cpus, level in rows.groupby("cpus", sort=True):
        sessions = ", ".join(
            f"{pool_label(r['pool'], r['pool_knob'])} p50 {_ms(r['p50'])}, max {_ms(r['max'])}"
            f" (theory {_ms(r['theory_p50'])}, {_ms(r['theory_max'])})"
            + (" disturbed" if r["disturbed"] else "")
            for _, r in level.sort_values("pool").iterrows())
        parts.append(f"on {int(cpus)} CPU(s): {sessions}")
    ratio = rows.loc[~rows["disturbed"], "ratio"].dropna()
    text = (f"{target}, {int(first['requests'])} requests of {_ms(first['single_ms'])} at once "
            f"({fmt(first['iter'])} iterations): " + "; ".join(parts) + ".")
    if not ratio.empty:
        text += (f" Mean completion was {ratio.median():.2f}x the fair-share theory's "
                 f"(median over its {len(ratio)} undisturbed burst(s)).")
    return Finding("threadpool", text, values={"ratio": ratio.median() if not ratio.empty
                                                else None})


def _pooled(bursts: pd.DataFrame) -> pd.DataFrame:
    return bursts[bursts["pool"] != NO_POOL]


def _time_slicing(bursts: pd.DataFrame) -> list[Finding]:
    """P > CPUs: the kernel time-slices P threads, so the first wave finishes late, together."""
    one = _pooled(bursts)
    one = one[one["cpus"] == one["cpus"].min()]
    small, large = one["pool"].min(), one["pool"].max()
    if one.empty or small == large:
        return []
    a = one[one["pool"] == small].set_index("target")
    b = one[one["pool"] == large].set_index("target")
    both = a.index.intersection(b.index)
    if both.empty:
        return []
    cpus = int(one["cpus"].min())
    first_a, first_b = a.loc[both, "first"].median(), b.loc[both, "first"].median()
    spread = (b.loc[both, "p50"] / b.loc[both, "first"]).median()
    return [Finding("threadpool", (
        f"More threads than CPUs: on {cpus} CPU(s), with a pool of {int(large)} the first "
        f"request finished after {_ms(first_b)} (median over {len(both)} target(s)), against "
        f"{_ms(first_a)} with {int(small)}: the kernel shared the CPU between {int(large)} "
        f"threads, so a whole wave finished late, together (p50 / first = {spread:.2f})."),
        values={"first_small": first_a, "first_large": first_b}, headline=True)]


def _idle_cpu(bursts: pd.DataFrame) -> list[Finding]:
    """P < CPUs: a CPU idles, and the burst takes CPUs / P times as long."""
    pooled = _pooled(bursts)
    cpus = pooled["cpus"].max()
    at = pooled[pooled["cpus"] == cpus]
    if cpus < 2 or at.empty or at["pool"].min() >= cpus:
        return []
    low = at[at["pool"] == at["pool"].min()].set_index("target")
    fit = at[at["pool"] == cpus].set_index("target")
    both = low.index.intersection(fit.index)
    if both.empty:
        return []
    slow, fast = low.loc[both, "max"].median(), fit.loc[both, "max"].median()
    return [Finding("threadpool", (
        f"Fewer threads than CPUs: on {int(cpus)} CPUs a pool of {int(at['pool'].min())} took "
        f"{_ms(slow)} for the burst and a pool of {int(cpus)} {_ms(fast)} (medians over "
        f"{len(both)} target(s), {slow / fast:.2f}x): with fewer threads than CPUs, a CPU "
        "stayed idle."), values={"small_pool_max": slow, "fitting_pool_max": fast},
        headline=True)]


def _baseline(bursts: pd.DataFrame) -> list[Finding]:
    none = bursts[bursts["pool"] == NO_POOL]
    if none.empty:
        return []
    parts = [f"{t} on {int(r['cpus'])} CPU(s) first {_ms(r['first'])}, p50 {_ms(r['p50'])}, "
             f"max {_ms(r['max'])} (theory: all at {_ms(r['theory_max'])})"
             for t, r in none.set_index("target").sort_values("cpus").iterrows()]
    return [Finding("threadpool", (
        "Without a pool every request runs at once on a thread (or goroutine, or process) of "
        "its own, and all of them share the CPUs: " + "; ".join(parts) + "."))]


def _probe_findings(probes: pd.DataFrame) -> list[Finding]:
    """Per target with a pool probe: its latency on the idle pool, and its worst wait while
    each burst held the pool (with the theory's)."""
    if probes.empty:
        return []
    found = []
    for target, rows in probes.groupby("target", sort=True):
        idle = rows[rows["probe_at_ms"] < 0]["measured"].dropna()
        parts, values = [], {}
        for (cpus, pool), during in rows[rows["probe_at_ms"] >= 0].groupby(["cpus", "pool"]):
            if during["measured"].notna().any():
                worst = during.loc[during["measured"].idxmax()]
                parts.append(f"{int(cpus)} CPU(s) P={int(pool)} {_ms(worst['measured'])} "
                             f"(theory {_ms(worst['theory'])})")
                values[f"{int(cpus)} CPUs P={int(pool)} worst"] = worst["measured"]
        if idle.empty or not parts:
            continue
        found.append(Finding("threadpool", (
            f"{target}: a probe on the pool the burst fills took {_ms(idle.median())} on the "
            f"idle pool (median before the burst); while the burst held the pool it waited up "
            f"to: " + ", ".join(parts) + "."), values={"idle": idle.median(), **values},
            headline=True))
    return found
