"""The sweep's part of the report: figures, findings, tables and scorecard columns."""

from __future__ import annotations

import pandas as pd

from analysis.content import ScoreCell, ScoreColumn, Section, label
from analysis.load import RunData
from analysis.palette import Style
from analysis.stats import aggregate, fmt, primary_variants
from lab.experiments.sweep import figures, findings, tables
from lab.experiments.sweep.measure import PING

# Peak /ping goodput against the run's fastest target: colour bands of the scorecard.
GOOD_SHARE, MIXED_SHARE = 0.5, 0.2
METHOD = (
    "Closed loop: goodput counts 2xx responses per second over a steady window that starts "
    "once every connection has had its first response (set-up is its own column); the mean "
    "latency is connections / goodput (Little's law), not a percentile: wrk's own "
    "percentiles are synthetic and never shown. A connection never served waited the whole "
    "window without a byte of response (the kernel's count of the generator's sockets for "
    "wrk, the pacer's own count otherwise).",
    "Open loop: the pacer offers fractions of each target's closed-loop goodput at 64 "
    "connections; latency counts from each request's intended send time, a failed request "
    "as infinitely slow (∞). The knee is the first load whose p99 is "
    f"{findings.KNEE_FACTOR:g}x the p99 at the lowest load.")


def split(run: RunData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The aggregates of the closed-loop rows and of the open-loop rows."""
    frame = run.table("sweep")
    if "mode" not in frame.columns:
        return aggregate(frame), aggregate(frame.iloc[0:0])
    return (aggregate(frame[frame["mode"] == "closed"]),
            aggregate(frame[frame["mode"] == "open"]))


def section(run: RunData, palette: dict[str, Style], base: Section) -> Section:
    closed, opened = split(run)
    base.findings = findings.sweep_findings(closed, opened)
    for endpoint in sorted(closed["endpoint"].dropna().unique()):
        fig = figures.sweep_figure(closed, endpoint, palette)
        if fig:
            base.figures.append(fig)
    for fig in (figures.load_figure(opened, palette), figures.efficiency_figure(closed, palette)):
        if fig:
            base.figures.append(fig)
    base.tables.append(tables.sweep_table(closed))
    if not opened.empty:
        base.tables.append(tables.load_table(opened))
    base.method.extend(METHOD)
    return base


def scorecard(run: RunData) -> list[ScoreColumn]:
    closed, opened = split(run)
    if closed.empty or "endpoint" not in closed.columns:
        return []
    rates = closed[(closed["endpoint"] == PING) & (closed["metric"] == "goodput_per_s")]
    rates = rates.dropna(subset=["median"])
    if rates.empty:
        return []
    best = rates["median"].max()
    peak = ScoreColumn("sweep", "peak /ping", {
        "good": f"at least {GOOD_SHARE:.0%} of the fastest target's goodput",
        "mixed": f"{MIXED_SHARE:.0%} to {GOOD_SHARE:.0%} of the fastest",
        "bad": f"under {MIXED_SHARE:.0%} of the fastest"})
    collapse = ScoreColumn("sweep", "collapses at", {
        "good": "kept at least half its peak, every connection served, no failure, up to "
                "the highest level it ran",
        "bad": "from this many connections: some never served, failures, or under half "
               "its peak goodput",
        "none": "one level measured: cannot tell"})
    knees = ScoreColumn("sweep", "latency knee", {
        "good": f"p99 stayed within {findings.KNEE_FACTOR:g}x of its low-load value up to "
                "the highest offered load",
        "mixed": "p99 rose at 90 % of its peak or more (as queueing theory expects near "
                 "saturation)",
        "bad": "p99 rose below 90 % of its peak",
        "none": "not measured"})
    primary = primary_variants(rates)
    for (target, variant), group in rates.groupby(["target", "variant"], sort=True):
        if (target, variant) not in primary:
            continue
        name = str(target)
        top = group.loc[group["median"].idxmax()]
        share = top["median"] / best
        level = "good" if share >= GOOD_SHARE else "mixed" if share >= MIXED_SHARE else "bad"
        where = f"{label(target, variant)} at {int(top['connections'])} connections"
        peak.cells[name] = ScoreCell(f"{fmt(top['median'])}/s", level,
                                     float(top["median"]), where)
        collapse.cells[name] = _collapse_cell(closed, target, variant, group)
        knees.cells[name] = _knee_cell(opened, target, variant)
    return [peak, collapse, knees]


def _collapse_cell(closed: pd.DataFrame, target: str, variant: str,
                   rates: pd.DataFrame) -> ScoreCell:
    levels = sorted(rates["connections"].unique())
    if len(levels) < 2:
        return ScoreCell("n/a", "none", "")
    mine = closed[(closed["target"] == target) & (closed["variant"] == variant)
                  & (closed["endpoint"] == PING) & (closed["median"] > 0)]
    troubled = mine[mine["metric"].isin(("errors", "connections_never_served"))]
    peak = rates["median"].max()
    low = rates[(rates["median"] < findings.COLLAPSE_SHARE * peak)
                & (rates["connections"] > rates.loc[rates["median"].idxmax(), "connections"])]
    bad = sorted([*troubled["connections"], *low["connections"]])
    if bad:
        first = int(bad[0])
        return ScoreCell(f"{first:,} conn.", "bad", first, "the first level with a connection "
                         "never served, failed requests, or under half the peak goodput")
    return ScoreCell(f"not to {int(levels[-1]):,}", "good", 1e9 + levels[-1])


def _knee_cell(opened: pd.DataFrame, target: str, variant: str) -> ScoreCell:
    mine = opened[(opened["target"] == target) & (opened["variant"] == variant)] \
        if not opened.empty else opened
    if mine.empty:
        return ScoreCell("-", "none", "")
    point = findings.knee(mine)
    top = float(mine["load"].max())
    if point is None:
        return ScoreCell(f"none to {top:.0%}", "good", 10 + top)
    share, value, base = point
    return ScoreCell(f"at {share:.0%}", "mixed" if share >= 0.9 else "bad", share,
                     f"p99 {fmt(value, 'ms', True)} there, {fmt(base, 'ms', True)} at low load")
