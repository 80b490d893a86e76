"""The blocking experiment's part of the report: timelines, percentiles, verdicts, the
scorecard's two columns and the overview figure that leads the report."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd

from analysis.content import Finding, ScoreCell, ScoreColumn, Section, label
from analysis.load import RunData
from analysis.palette import Figure, Style, embed, setup
from analysis.stats import aggregate, fmt, primary_variants
from lab.experiments.blocking import figures, findings, tables
from lab.experiments.blocking.verdicts import (
    BLOCKED,
    ISOLATED,
    PARTLY,
    VERDICT_RULE,
    blocking_verdicts,
)

LEVEL = {ISOLATED: "good", PARTLY: "mixed", BLOCKED: "bad"}
SHORT = {ISOLATED: "isolated", PARTLY: "partly", BLOCKED: "blocked"}
LEGEND = {"good": f"{ISOLATED}: /ping p99 rose by under 15 % of a blocked loop's",
          "mixed": f"{PARTLY}: 15 % to 60 % of it", "bad": f"{BLOCKED}: 60 % or more",
          "none": "not measured"}


def _mechanisms(run: RunData) -> dict[str, str]:
    return {name: str(run.fact(name, "mechanism", "")) for name in run.target_names}


def section(run: RunData, palette: dict[str, Style], base: Section) -> Section:
    agg = aggregate(run.table("blocking"))
    base.findings = findings.blocking_findings(agg, _mechanisms(run))
    fig = figures.timeline_figure(run)
    if fig:
        base.figures.append(fig)
    else:
        base.findings.append(Finding("blocking", "The raw pacer records were not found, so "
                                     "the timelines are not drawn.", "note"))
    fig = figures.percentile_figure(agg)
    if fig:
        base.figures.append(fig)
    base.tables += [tables.verdict_table(agg), tables.ping_table(agg)]
    base.method.append(f"Verdicts: {VERDICT_RULE}.")
    return base


def _primary_verdicts(run: RunData) -> pd.DataFrame:
    agg = aggregate(run.table("blocking"))
    if agg.empty or "stream" not in agg.columns:
        return pd.DataFrame()
    verdicts = blocking_verdicts(agg)
    if verdicts.empty:
        return verdicts
    primary = primary_variants(verdicts)
    keep = [(t, v) in primary for t, v in zip(verdicts["target"], verdicts["variant"],
                                              strict=True)]
    return verdicts[pd.Series(keep, index=verdicts.index, dtype=bool)]


def scorecard(run: RunData) -> list[ScoreColumn]:
    verdicts = _primary_verdicts(run)
    if verdicts.empty:
        return []
    columns = []
    for phase, title in (("inline", "/cpu inline"), ("offload", "/cpu offload=1")):
        column = ScoreColumn("blocking", title, LEGEND)
        for _, row in verdicts[verdicts["phase"] == phase].iterrows():
            column.cells[str(row["target"])] = ScoreCell(
                SHORT.get(row["verdict"], row["verdict"]), LEVEL.get(row["verdict"], "none"),
                float(row["share"]) if not pd.isna(row["share"]) else "",
                f"{row['verdict']}: /ping p99 {fmt(row['p99'], 'ms', True)} (without /cpu "
                f"{fmt(row['baseline_p99'], 'ms', True)}; a blocked loop "
                f"{fmt(row['blocked_p99'], 'ms', True)})")
        columns.append(column)
    return columns


def overview(run: RunData, palette: dict[str, Style]) -> Figure | None:
    """/ping p99 per target: no /cpu, /cpu inline, /cpu offloaded, vs a blocked loop."""
    verdicts = _primary_verdicts(run)
    if verdicts.empty:
        return None
    inline = verdicts[verdicts["phase"] == "inline"].set_index("target")
    offload = verdicts[verdicts["phase"] == "offload"].set_index("target")
    order = inline.sort_values("p99").index.tolist()
    if not order:
        return None
    setup()
    fig, ax = plt.subplots(figsize=(7.0, max(3.2, 1.6 + 0.3 * len(order))))
    y = range(len(order))
    series = (("without /cpu", inline["baseline_p99"], "#546E7A", "o"),
              ("/cpu inline", inline["p99"], "#C62828", "s"),
              ("/cpu offload=1", offload["p99"].reindex(order), "#2E7D32", "^"))
    for name, values, colour, marker in series:
        xs = [values.get(t, math.nan) for t in order]
        ax.scatter(xs, list(y), color=colour, marker=marker, label=name, zorder=3, s=30)
    blocked = float(inline["blocked_p99"].dropna().iloc[0]) if inline["blocked_p99"].notna().any() \
        else math.nan
    if not math.isnan(blocked):
        ax.axvline(blocked, color="black", linestyle="-.", linewidth=1,
                   label=f"a fully blocked loop ({fmt(blocked, 'ms', True)})")
    ax.set_xscale("log")
    ax.set_yticks(list(y), [label(t) for t in order])
    ax.invert_yaxis()
    ax.set_xlabel("/ping p99 latency from intended send time (ms, log scale)")
    ax.set_title("Who stalls everyone when one request burns the CPU?")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=8,
              frameon=False)
    fig.tight_layout()
    stalled = [t for t in order if inline.loc[t, "verdict"] == BLOCKED]
    return Figure(
        "Blocking at a glance", embed(fig),
        f"Dot plot, one row per target, x = /ping p99 in ms on a log scale: without /cpu "
        f"(circles), with /cpu inline (squares) and with offload=1 (triangles); a dash-dot "
        f"line marks a fully blocked loop. {len(stalled)} of {len(order)} targets stalled "
        f"like a blocked loop inline: {', '.join(stalled) or 'none'}.",
        "Each target's main variant; p99 of /ping over the phase, median over repetitions.")
