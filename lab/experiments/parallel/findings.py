"""Parallel findings: sentences whose every number comes from the speed-up frame."""

from __future__ import annotations

import pandas as pd

from analysis.content import Finding, label
from analysis.stats import fmt
from lab.cpus import SHARED_CPU_GENERATOR_LIMIT
from lab.experiments.parallel.expected import FLAT, SCALES, SCALES_SHARE
from lab.experiments.parallel.measure import EVEN
from lab.experiments.parallel.speedups import judged, mode

# A server that kept fewer CPUs than this busy on k CPUs ran its work on about one.
ONE_CPU_BUSY = 1.3


def _x(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.2f}x"


def _part(row: pd.Series) -> str:
    return f"{row['endpoint']} {mode(row['offload'])} {_x(row['speedup'])}"


def parallel_findings(speedups: pd.DataFrame, generator: pd.DataFrame,
                      mechanisms: dict[str, str]) -> list[Finding]:
    if speedups.empty:
        return [Finding("parallel", "No target was measured on more than one CPU set, so no "
                        "speed-up can be computed.", "note")]
    findings = [_summary(speedups), *_knob_findings(speedups), *_generator(generator),
                *_unfair(speedups)]
    for (target, variant, k), rows in speedups.groupby(["target", "variant", "k"], sort=True):
        findings.append(_target_finding(str(target), str(variant), int(k), rows,
                                        mechanisms.get(str(target), "")))
    return findings


def _summary(speedups: pd.DataFrame) -> Finding:
    k = int(speedups["k"].max())
    at = speedups[speedups["k"] == k]
    parts = []
    for (endpoint, offload), rows in at.groupby(["endpoint", "offload"], sort=True):
        kept = rows[judged(rows)]
        scaled = sorted(kept.loc[kept["verdict"] == SCALES, "target"])
        flat = sorted(kept.loc[kept["verdict"] == FLAT, "target"])
        part = (f"{endpoint} {mode(offload)}: {len(scaled)} of {len(kept)} target(s) "
                f"scaled, {len(flat)} did not ({', '.join(flat) or 'none'})")
        if len(kept) < len(rows):
            part += (f", {len(rows) - len(kept)} not judged (disturbed, refused or unequal "
                     "work)")
        parts.append(part)
    return Finding("parallel", f"From 1 to {k} CPUs: " + "; ".join(parts) + ".", headline=True,
                   values={"k": k})


def _target_finding(target: str, variant: str, k: int, rows: pd.DataFrame,
                    mechanism: str) -> Finding:
    rows = rows.sort_values(["endpoint", "offload"], ascending=[False, True])
    groups = []
    for verdict_, group in rows.groupby("verdict", sort=False):
        groups.append(f"{', '.join(_part(r) for _, r in group.iterrows())}: {verdict_}")
    text = f"{label(target, variant)}, 1 -> {k} CPUs (ideal {k}x): " + "; ".join(groups) + "."
    disturbed = rows[rows["disturbed"]]
    if not disturbed.empty:
        text += (" Disturbed: on 1 CPU its server got only " + ", ".join(
            f"{fmt(r['busy_1'], 'ratio')} ({r['endpoint']} {mode(r['offload'])})"
            for _, r in disturbed.iterrows()) + " of it, so other processes shared that CPU "
            "and those speed-ups are inflated.")
    unequal = rows[rows["unequal"] & ~rows["disturbed"]]
    if not unequal.empty:
        text += (" Not comparable: a request cost the server " + ", ".join(
            f"{fmt(r['cost_1'], 'ms', True)} of CPU on 1 CPU and {fmt(r['cost_k'], 'ms', True)} "
            f"on {r['k']} ({r['endpoint']} {mode(r['offload'])})"
            for _, r in unequal.iterrows()) + ", so those were not the same work (a JIT "
            "compiler still compiling it, which on one CPU takes longer).")
    rows = rows[judged(rows)]
    agree = rows[rows["verdict"] == rows["expected_verdict"]]
    differ = rows[(rows["verdict"] != rows["expected_verdict"])
                  & (rows["expected_verdict"] != "n/a") & (rows["verdict"] != "n/a")]
    if not agree.empty and differ.empty:
        text += " As its facts predict (threads that can compute at once: " + ", ".join(
            f"{r['endpoint']} {mode(r['offload'])} {fmt(r['capacity_1'])} -> "
            f"{fmt(r['capacity_k'])}" for _, r in agree.iterrows()) + ")" + (
            f", consistent with its design: {mechanism}." if mechanism else ".")
    for _, row in differ.iterrows():
        text += " " + _why(row, rows)
    values = {f"{r['endpoint']} {mode(r['offload'])} speedup": r["speedup"]
              for _, r in rows.iterrows()}
    return Finding("parallel", text, values=values)


def _why(row: pd.Series, rows: pd.DataFrame) -> str:
    """What the data says about a speed-up its facts did not predict."""
    said = (f"{_part(row)} {row['verdict']}, where its facts predicted "
            f"{_x(row['expected'])} ({fmt(row['capacity_1'])} -> {fmt(row['capacity_k'])} "
            f"thread(s) able to compute it at once)")
    busy = row["busy_k"] if pd.notna(row["busy_k"]) else None
    if row["expected_verdict"] == SCALES and busy is not None and busy < ONE_CPU_BUSY:
        said += (f": its server kept only {fmt(busy, 'ratio')} of {row['k']} CPUs busy, so "
                 "one thread did the computing, or other processes held the other CPUs")
        # The same server kept k CPUs busy with PBKDF2 but one with the language's own code.
        hashes = rows[(rows["endpoint"] == "/hash") & (rows["verdict"] == SCALES)
                      & (rows["busy_k"] >= 1 + SCALES_SHARE * (row["k"] - 1))]
        if row["endpoint"] == "/work" and not hashes.empty:
            said += (", and since /hash scaled, it is a lock that the language's own code "
                     "holds and PBKDF2 releases: a global interpreter lock")
    elif busy is not None:
        said += f": its server kept {fmt(busy, 'ratio')} of {row['k']} CPUs busy"
    return said + "."


def _knob_findings(speedups: pd.DataFrame) -> list[Finding]:
    changed: dict[str, str] = {}
    for (target, _k), rows in speedups.groupby(["target", "k"], sort=True):
        first = rows.iloc[0]
        moves = [f"{name} {first['knobs_1'].get(name)} -> {value}"
                 for name, value in sorted(first["knobs_k"].items())
                 if first["knobs_1"].get(name) != value]
        if moves:
            changed[str(target)] = ", ".join(moves)
    if not changed:
        return [Finding("parallel", "No target's knobs (in /info) changed with its CPU set.",
                        "note")]
    unchanged = sorted(set(speedups["target"]) - set(changed))
    text = ("Knobs that followed the CPU set (as each server reported them in /info): "
            + "; ".join(f"{t}: {m}" for t, m in sorted(changed.items()))
            + (f". Unchanged: {', '.join(unchanged)}." if unchanged else "."))
    return [Finding("parallel", text)]


def _generator(shares: pd.DataFrame) -> list[Finding]:
    if shares.empty:
        return []
    values = shares["value"].dropna()
    refused = int((values > SHARED_CPU_GENERATOR_LIMIT).sum())
    return [Finding("parallel", (
        f"Where the server shared a CPU with the load generator ({len(values)} point(s)), "
        f"the generator used at most {values.max():.1%} of that CPU (median "
        f"{values.median():.1%}; limit {SHARED_CPU_GENERATOR_LIMIT:.0%}); {refused} point(s) were "
        "over the limit and left out of the speed-ups."),
        "flag" if refused else "result",
        values={"max": values.max(), "median": values.median(), "refused": refused})]


def _unfair(speedups: pd.DataFrame) -> list[Finding]:
    found = []
    for _, row in speedups.iterrows():
        for level, column in ((1, "fairness_1"), (row["k"], "fairness_k")):
            value = row[column]
            if pd.notna(value) and value < EVEN:
                found.append(f"{row['target']} {row['endpoint']} {mode(row['offload'])} on "
                             f"{level} CPU(s) ({value:.2f})")
    if not found:
        return []
    most = int(speedups["connections"].max())
    return [Finding("parallel", (
        "Some servers answered some of the closed loop's connections more often than "
        "others, or not yet at all (Jain's fairness index of responses per connection, 1 = even, "
        f"1/{most} = one connection got them all): " + "; ".join(sorted(set(found)))
        + ". Their goodput is counted over the window (flag counted-goodput)."), "flag",
        values={"points": len(set(found))})]
