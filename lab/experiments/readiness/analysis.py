"""The readiness experiment's part of the report: figures, findings, tables, and the
scorecard's columns (idle connections, memory per connection, slow clients)."""

from __future__ import annotations

import math

import pandas as pd

from analysis.content import ScoreCell, ScoreColumn, Section
from analysis.load import RunData
from analysis.palette import Style
from analysis.stats import fmt, primary_variants
from lab.experiments.readiness import figures, findings, summary, tables

IDLE_LEGEND = {"good": f"flat: {summary.GROWTH_RULE}", "mixed": "slight growth",
               "bad": "grows with idle connections, or serves no one at its limit",
               "none": "not measured"}
MEMORY_LEGEND = {"good": f"under {summary.SMALL // 1024} KB per idle connection",
                 "mixed": f"{summary.SMALL // 1024} to {summary.LARGE // 1024} KB",
                 "bad": f"over {summary.LARGE // 1024} KB (a pool: per worker, paid up front)",
                 "none": "not measured"}
SLOW_LEGEND = {"good": "kept answering every /ping", "mixed": "answered some",
               "bad": "stalled: answered (almost) none", "none": "not measured"}


def _readiness(run: RunData) -> dict[str, str]:
    return {name: str(run.fact(name, "readiness", "?")) for name in run.target_names}


def section(run: RunData, palette: dict[str, Style], base: Section) -> Section:
    agg = summary.table(run)
    wide = summary.levels(agg)
    idle = summary.idle_summary(run, agg)
    slow = summary.slow_summary(agg)
    counters = summary.counters(agg)
    readiness = _readiness(run)
    base.findings = [*findings.idle_findings(idle, readiness), *findings.slow_findings(slow),
                     *findings.counter_findings(counters)]
    primary = primary_variants(wide) if not wide.empty else set()
    for figure in (figures.idle_figure(wide, primary, palette),
                   figures.memory_figure(idle, palette), figures.slow_figure(slow),
                   figures.counters_figure(counters)):
        if figure is not None:
            base.figures.append(figure)
    if not idle.empty:
        base.tables += [tables.idle_table(idle), tables.level_table(wide)]
    if not slow.empty:
        base.tables.append(tables.slow_table(slow))
    if not counters.empty:
        base.tables.append(tables.counters_table(counters))
    base.method += [
        "CPU per /ping: the server's CPU time over the stream's window (sampled on the wall "
        "clock the pacer reports, so that setting up the idle connections is not in it) "
        "divided by the /pings answered; natively from every process of the target's process "
        "group (each process's CPU clock), in docker from the container's cgroup.",
        "Memory: anonymous resident memory of the whole target, each page counted once "
        "however many processes share it (natively the sum of /proc/PID/smaps_rollup "
        "Pss_Anon over the process group; in docker the cgroup's memory.stat total_rss on "
        "cgroup v1, anon on v2); it leaves out the page cache and kernel socket buffers. "
        "Per idle connection: the least-squares slope over the connections held at each "
        "level.",
        f"Verdicts: {summary.GROWTH_RULE}; {summary.MEMORY_RULE}; {summary.SLOW_RULE}.",
        "Latency is measured from each request's intended send time; a request that failed "
        "or was not answered within the timeout counts as infinitely slow.",
    ]
    return base


def scorecard(run: RunData) -> list[ScoreColumn]:
    agg = summary.table(run)
    idle = summary.idle_summary(run, agg)
    slow = summary.slow_summary(agg)
    columns = []
    if not idle.empty:
        cpu = ScoreColumn("readiness", "CPU/ping vs idle conns", IDLE_LEGEND)
        memory = ScoreColumn("readiness", "memory per idle conn", MEMORY_LEGEND)
        for _, row in idle.iterrows():
            cpu.cells[row["target"]] = _cpu_cell(row)
            memory.cells[row["target"]] = _memory_cell(row, run)
        columns += [cpu, memory]
    if not slow.empty:
        column = ScoreColumn("readiness", "slowloris", SLOW_LEGEND)
        primary = primary_variants(slow)
        for _, row in slow.iterrows():
            if (row["target"], row["variant"]) in primary:
                column.cells[row["target"]] = _slow_cell(row, slow)
        columns.append(column)
    return columns


def _cpu_cell(row: pd.Series) -> ScoreCell:
    cap = row["cap"]
    if cap and row["n_max"] == cap.connections and row["ok_n"] == 0:
        return ScoreCell(f"none served at {cap.connections:,}", "bad", -1.0,
                         f"at {cap.connections:,} idle connections ({cap.reason}) no /ping "
                         "was answered")
    ratio = row["growth"]
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return ScoreCell("n/a", "none", "")
    level = {"grows": "bad", "slight": "mixed", "flat": "good"}[row["verdict"]]
    return ScoreCell(f"{row['verdict']} x{ratio:.1f}", level, float(ratio),
                     f"CPU per /ping {fmt(row['cpu0'])} µs with no idle connection, "
                     f"{fmt(row['cpu_n'])} µs with {row['cpu_at']:,} "
                     f"({row['slope_per_1000']:+.1f} µs per 1,000)")


def _memory_cell(row: pd.Series, run: RunData) -> ScoreCell:
    """Per idle connection; for a pool, its workers' memory, paid before any connection."""
    per = row["memory_per_connection"]
    cap = row["cap"]
    if run.fact(row["target"], "pool_knob") and cap and _ok(row["memory0"]):
        each = row["memory0"] / cap.connections
        return ScoreCell(f"{summary.size(row['memory0'])} for {cap.connections} workers",
                         summary.memory_level(each), float(each),
                         f"paid up front: at most {summary.size(each)} per worker; "
                         f"{summary.size(max(per or 0.0, 0.0))} more per idle connection")
    if not _ok(per):
        return ScoreCell("n/a", "none", "")
    return ScoreCell(summary.size(max(per, 0.0)), summary.memory_level(per), float(per),
                     f"slope over the levels; {summary.size(row['memory0'])} with no idle "
                     "connection")


def _ok(x: object) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _slow_cell(row: pd.Series, slow: pd.DataFrame) -> ScoreCell:
    level = {"served": "good", "partly": "mixed", "stalled": "bad"}.get(row["verdict"], "none")
    others = slow[(slow["target"] == row["target"]) & (slow["variant"] != row["variant"])]
    detail = (f"{row['ok']:,.0f} of {row['sent']:,.0f} /pings answered beside {row['slow']} "
              f"slow clients, p99 {fmt(row['p99'], 'ms', True)}")
    for _, other in others.iterrows():
        detail += (f"; with {other['variant']}: {other['verdict']}, {other['ok']:,.0f} of "
                   f"{other['sent']:,.0f}")
    share = row["share"] if row["share"] is not None else math.nan
    return ScoreCell(row["verdict"], level, float(share), detail)
