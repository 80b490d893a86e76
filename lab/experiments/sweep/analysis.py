"""The sweep's part of the report: figures, findings, table and scorecard columns."""

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


def section(run: RunData, palette: dict[str, Style], base: Section) -> Section:
    agg = aggregate(run.table("sweep"))
    base.findings = findings.sweep_findings(agg)
    for endpoint in sorted(agg["endpoint"].dropna().unique()):
        fig = figures.sweep_figure(agg, endpoint, palette)
        if fig:
            base.figures.append(fig)
    fig = figures.efficiency_figure(agg, palette)
    if fig:
        base.figures.append(fig)
    base.tables.append(tables.sweep_table(agg))
    return base


def _rates(agg: pd.DataFrame) -> pd.DataFrame:
    """/ping requests/s per target, variant and connection level."""
    rates = agg[(agg["endpoint"] == PING) & (agg["metric"] == "requests_per_s")]
    return rates.dropna(subset=["median"])


def scorecard(run: RunData) -> list[ScoreColumn]:
    agg = aggregate(run.table("sweep"))
    if agg.empty or "endpoint" not in agg.columns:
        return []
    rates = _rates(agg)
    if rates.empty:
        return []
    best = rates["median"].max()
    peak = ScoreColumn("sweep", "peak /ping", {
        "good": f"at least {GOOD_SHARE:.0%} of the fastest target",
        "mixed": f"{MIXED_SHARE:.0%} to {GOOD_SHARE:.0%} of the fastest",
        "bad": f"under {MIXED_SHARE:.0%} of the fastest"})
    collapse = ScoreColumn("sweep", "collapses at", {
        "good": "kept at least half its peak up to the highest level it ran",
        "bad": "fell below half its peak, or had errors, from this many connections",
        "none": "one level measured: cannot tell"})
    primary = primary_variants(rates)
    for (target, variant), group in rates.groupby(["target", "variant"], sort=True):
        if (target, variant) not in primary:
            continue
        name = str(target)
        top = group.loc[group["median"].idxmax()]
        share = top["median"] / best
        level = "good" if share >= GOOD_SHARE else "mixed" if share >= MIXED_SHARE else "bad"
        where = f"{label(target, variant)} at {int(top['connections'])} connections"
        peak.cells[name] = ScoreCell(f"{fmt(top['median'])} req/s", level,
                                     float(top["median"]), where)
        collapse.cells[name] = _collapse_cell(agg, target, variant, group)
    return [peak, collapse]


def _collapse_cell(agg: pd.DataFrame, target: str, variant: str,
                   rates: pd.DataFrame) -> ScoreCell:
    levels = sorted(rates["connections"].unique())
    if len(levels) < 2:
        return ScoreCell("n/a", "none", "")
    errors = agg[(agg["target"] == target) & (agg["variant"] == variant)
                 & (agg["endpoint"] == PING) & (agg["metric"] == "errors") & (agg["median"] > 0)]
    peak = rates["median"].max()
    low = rates[(rates["median"] < findings.COLLAPSE_SHARE * peak)
                & (rates["connections"] > rates.loc[rates["median"].idxmax(), "connections"])]
    bad = sorted([*errors["connections"], *low["connections"]])
    if bad:
        first = int(bad[0])
        return ScoreCell(f"{first:,} conn.", "bad", first, "the first level with errors or "
                         "under half the peak")
    return ScoreCell(f"not to {int(levels[-1]):,}", "good", 1e9 + levels[-1])
