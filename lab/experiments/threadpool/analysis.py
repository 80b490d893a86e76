"""The threadpool experiment's part of the report: completion steps per CPU level, the
shared pool, the bursts' table and a scorecard column (how closely the bursts followed
the fair-share theory)."""

from __future__ import annotations

from analysis.content import ScoreCell, ScoreColumn, Section
from analysis.load import RunData
from analysis.palette import Style
from lab.experiments.threadpool import bursts as numbers
from lab.experiments.threadpool import figures, findings, tables

# Mean completion over the theory's: within these ratios a burst "follows" fair sharing.
GOOD_RATIO, MIXED_RATIO = 1.25, 1.6


def section(run: RunData, palette: dict[str, Style], base: Section) -> Section:
    ranks = numbers.completions(run)
    bursts = numbers.bursts(run)
    probes = numbers.probes(run)
    base.findings = findings.threadpool_findings(bursts, probes)
    if not ranks.empty:
        for cpus in sorted(ranks["cpus"].unique()):
            fig = figures.steps_figure(ranks, int(cpus))
            if fig:
                base.figures.append(fig)
    fig = figures.probe_figure(probes)
    if fig:
        base.figures.append(fig)
    if not bursts.empty:
        base.tables.append(tables.burst_table(bursts))
    base.method += [
        "Completion: from the instant all requests were due (each on its own connection, "
        "primed before) to the end of its response; a failed request counts as never "
        "completing.",
        "Theory: B jobs of t (the server's CPU time per request during the burst, which "
        "other processes on the machine do not change) handed in order to P threads (a "
        "thread per job without a pool) on the session's CPUs, each running thread "
        "getting an equal share of the CPUs (the limit of small time slices; the Go "
        "scheduler's and the JVM's slices are not small).",
        f"Scorecard: a target follows fair sharing when its mean completion is within "
        f"{GOOD_RATIO}x of the theory's (median over its bursts that other processes did "
        "not disturb)."]
    return base


def scorecard(run: RunData) -> list[ScoreColumn]:
    bursts = numbers.bursts(run)
    if bursts.empty:
        return []
    column = ScoreColumn("threadpool", "burst vs fair share", {
        "good": f"mean completion within {GOOD_RATIO}x of the fair-share theory",
        "mixed": f"{GOOD_RATIO}x to {MIXED_RATIO}x", "bad": f"over {MIXED_RATIO}x",
        "info": "every burst disturbed by other processes: not judged",
        "none": "not measured"})
    for target, rows in bursts.groupby("target", sort=True):
        ratio = rows.loc[~rows["disturbed"], "ratio"].dropna()
        if ratio.empty:
            column.cells[str(target)] = ScoreCell(
                "?" if rows["disturbed"].any() else "n/a",
                "info" if rows["disturbed"].any() else "none", "",
                "every burst was disturbed: other processes held its CPUs")
            continue
        value = float(ratio.median())
        level = "good" if value <= GOOD_RATIO else "mixed" if value <= MIXED_RATIO else "bad"
        pools = "no pool" if not rows["pool"].any() else \
            f"pools {', '.join(str(int(p)) for p in sorted(rows['pool'].unique()))}"
        column.cells[str(target)] = ScoreCell(
            f"{value:.2f}x", level, value,
            f"mean completion / theory's, median over {len(ratio)} burst(s) ({pools})")
    return [column]
