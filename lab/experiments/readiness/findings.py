"""Readiness findings: sentences whose every number comes from summary.py's frames."""

from __future__ import annotations

import math

import pandas as pd

from analysis.content import Finding, label
from analysis.stats import fmt
from lab.experiments.readiness.summary import size

NAME = "readiness"


def _ok(x: object) -> bool:
    return x is not None and not (isinstance(x, float) and (math.isnan(x) or math.isinf(x)))


def idle_findings(summary: pd.DataFrame, readiness: dict[str, str]) -> list[Finding]:
    """The growth summary, then per target: CPU per /ping from N = 0 to the largest N with
    its slope per 1,000; where a cap left nothing for the stream; memory per connection."""
    if summary.empty:
        return [Finding(NAME, "No idle-connection levels were measured.", "note")]
    found = [_growth_summary(summary, readiness)]
    for _, row in summary.iterrows():
        name = label(row["target"], row["variant"])
        parts, values = [], {}
        if _ok(row["cpu0"]) and _ok(row["cpu_n"]) and row["cpu_at"]:
            values.update(cpu0=row["cpu0"], cpu_n=row["cpu_n"], n=row["cpu_at"],
                          slope_per_1000=row["slope_per_1000"])
            parts.append(
                f"{name} ({readiness.get(row['target'], '?')}): the server's CPU per /ping was "
                f"{fmt(row['cpu0'])} µs with no idle connection and {fmt(row['cpu_n'])} µs "
                f"with {row['cpu_at']:,} ({row['slope_per_1000']:+.1f} µs per 1,000 idle "
                f"connections, least squares over the levels): {row['verdict']}.")
        cap = row["cap"]
        if cap and row["n_max"] == cap.connections and row["ok_n"] == 0:
            values.update(cap=cap.connections, sent=row["sent_n"])
            parts.append(f"At {cap.connections:,} idle connections ({cap.reason}) it answered "
                         f"none of {row['sent_n']:,.0f} /pings.")
        elif cap:
            values["cap"] = cap.connections
            parts.append(f"Levels stop at {cap.connections:,}: {cap.reason}.")
        if _ok(row["memory_per_connection"]) and row["memory_per_connection"] > 0:
            values["memory_per_connection"] = row["memory_per_connection"]
            parts.append(f"Each idle connection cost {size(row['memory_per_connection'])} of "
                         f"memory (from {size(row['memory0'])} with none).")
        if row["all_open"] is False:
            parts.append("Not every idle connection was still open at the end of a level.")
        if parts:
            found.append(Finding(NAME, " ".join(parts), values=values,
                                 headline=row["verdict"] == "grows"))
    return found


def _growth_summary(summary: pd.DataFrame, readiness: dict[str, str]) -> Finding:
    judged = summary[summary["verdict"].isin(["grows", "slight", "flat"])]
    groups = []
    for verdict, said in (("grows", "grew"), ("slight", "grew slightly"),
                          ("flat", "stayed flat")):
        rows = judged[judged["verdict"] == verdict]
        if not rows.empty:
            names = ", ".join(f"{label(t)} x{g:.1f}" for t, g in
                              zip(rows["target"], rows["growth"], strict=True))
            groups.append(f"{said} for {len(rows)} ({names})")
    by_wait: dict[str, list[float]] = {}
    for _, row in judged.iterrows():
        by_wait.setdefault(readiness.get(row["target"], "?"), []).append(row["slope_per_1000"])
    slopes = "; ".join(f"{wait} {', '.join(f'{s:+.0f}' for s in values)}"
                       for wait, values in sorted(by_wait.items()) if wait in (
                           "select", "poll", "epoll-lt", "epoll-et"))
    text = ("CPU per /ping from no idle connection to the most measured " + "; ".join(groups)
            + "." + (f" µs per 1,000 idle connections by readiness call: {slopes}." if slopes
                     else ""))
    return Finding(NAME, text, headline=True,
                   values={"grows": float((judged["verdict"] == "grows").sum()),
                           "flat": float((judged["verdict"] == "flat").sum())})


def slow_findings(slow: pd.DataFrame) -> list[Finding]:
    if slow.empty:
        return []
    found = []
    counts = {v: sorted(label(t, w) for t, w, x in zip(slow["target"], slow["variant"],
                                                       slow["verdict"], strict=True) if x == v)
              for v in ("served", "partly", "stalled")}
    m = int(slow["slow"].max())
    found.append(Finding(NAME, f"Beside {m} slowloris clients: " + "; ".join(
        f"{len(names)} {verdict} ({', '.join(names)})" for verdict, names in counts.items()
        if names) + ".", headline=True,
        values={v: float(len(n)) for v, n in counts.items()}))
    for _, row in slow[slow["verdict"] != "served"].iterrows():
        closed = row["closed_by_server"] or 0
        answers = ", ".join(f"{n:,.0f} got {status}" for status, n in row["statuses"].items())
        found.append(Finding(NAME, (
            f"{label(row['target'], row['variant'])} answered {row['ok']:,.0f} of "
            f"{row['sent']:,.0f} /pings beside {row['slow']} slow clients ({row['verdict']}); "
            f"it closed {closed:,.0f} slow connections" + (f" ({answers})" if answers else "")
            + "."), values={"ok": row["ok"], "sent": row["sent"], "closed": closed}))
    protected = slow[(slow["verdict"] == "served") & (slow["closed_by_server"] > 0)]
    for _, row in protected.iterrows():
        found.append(Finding(NAME, (
            f"{label(row['target'], row['variant'])} kept answering ({row['ok']:,.0f} of "
            f"{row['sent']:,.0f}, p99 {fmt(row['p99'], 'ms', True)}) by closing "
            f"{row['closed_by_server']:,.0f} slow connections that had not completed a "
            "request in time."), values={"ok": row["ok"], "closed": row["closed_by_server"]}))
    return found


def counter_findings(counters: pd.DataFrame) -> list[Finding]:
    rows = counters.dropna(subset=["reads"]) if not counters.empty else counters
    found = []
    for _, row in rows.iterrows():
        name = label(row["target"], row["variant"])
        values = {k: row[k] for k in ("waits", "reads", "eagain", "ok", "sent")}
        if row["ok"] == 0:
            found.append(Finding(NAME, (
                f"{name} answered none of {row['sent']:,.0f} requests of {row['head_bytes']:,} "
                f"bytes: it read {fmt(row['reads'])} times per request sent and never until "
                "the socket was empty, so the rest of each request waited for an edge that "
                "never came."), values=values, headline=True))
            continue
        found.append(Finding(NAME, (
            f"{name}, per {row['head_bytes']:,}-byte request: {fmt(row['waits'])} waits, "
            f"{fmt(row['events'])} descriptors reported ready, {fmt(row['reads'])} reads, "
            f"{fmt(row['eagain'])} of them finding nothing (EAGAIN)."), values=values))
    return found
