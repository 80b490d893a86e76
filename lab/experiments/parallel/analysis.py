"""The parallel experiment's part of the report: the speed-up figure, findings, tables and
two scorecard columns (the language's own code inline, and /hash offloaded)."""

from __future__ import annotations

import pandas as pd

from analysis.content import ScoreCell, ScoreColumn, Section
from analysis.load import RunData
from analysis.palette import Style
from lab.cpus import SHARED_CPU_GENERATOR_LIMIT
from lab.experiments.parallel import figures, findings, tables
from lab.experiments.parallel.expected import FLAT, PARTLY, SCALES, VERDICT_RULE
from lab.experiments.parallel.speedups import (
    REFUSED_VERDICT,
    generator_shares,
    mode,
    speedup_frame,
)

LEVEL = {SCALES: "good", PARTLY: "mixed", FLAT: "bad"}
# (endpoint, offload wanted): where the target has no pool for it, its inline point.
COLUMNS = (("/work", 0), ("/hash", 1))


def section(run: RunData, palette: dict[str, Style], base: Section) -> Section:
    speedups = speedup_frame(run)
    mechanisms = {t: str(run.fact(t, "mechanism", "")) for t in run.target_names}
    base.findings = findings.parallel_findings(speedups, generator_shares(run), mechanisms)
    fig = figures.speedup_figure(speedups)
    if fig:
        base.figures.append(fig)
    if not speedups.empty:
        base.tables += [tables.speedup_table(speedups), tables.knob_table(speedups)]
    base.method += [
        f"Verdicts: {VERDICT_RULE}.",
        "Goodput: 2xx responses per second from the closed loop's per-request records: in "
        "a steady state (every connection answered in the window's first half, evenly), "
        "the connections' rates between their first and last responses, which responses "
        "returned in batches or cut by the window's edges do not bias; otherwise (counted) "
        "the window's count, at every CPU count of that request, since a count misses the "
        "work in progress at the window's end.",
        "Predicted: the threads able to compute the request at once on k CPUs and on 1 "
        "(runtime.toml executors and offload_pools, with the knobs from /info), each "
        "given a CPU; it knows nothing of locks inside a runtime.",
        f"Points where the load generator used over {SHARED_CPU_GENERATOR_LIMIT:.0%} of a CPU it "
        "shared with the server are left out of the speed-ups."]
    return base


def scorecard(run: RunData) -> list[ScoreColumn]:
    speedups = speedup_frame(run)
    if speedups.empty:
        return []
    k = int(speedups["k"].max())
    at = speedups[speedups["k"] == k]
    legend = {"good": f"{SCALES} ({VERDICT_RULE})", "mixed": f"scales {PARTLY}",
              "bad": f"{FLAT}: about one CPU's worth",
              "info": "not judged: disturbed (?, other processes shared its one CPU), unequal "
                      "work (?, a request cost more CPU on one CPU set: a JIT still "
                      "compiling) or refused (the load generator took too much of the CPU "
                      "it shared)",
              "none": "not measured"}
    columns = []
    for endpoint, offload in COLUMNS:
        column = ScoreColumn("parallel", f"{endpoint} {mode(offload)}, {k} CPUs", legend)
        for target, rows in at[at["endpoint"] == endpoint].groupby("target", sort=True):
            rows = rows[rows["variant"] == sorted(rows["variant"])[0]]
            chosen = rows[rows["offload"] == offload]
            row = (chosen if not chosen.empty else rows).iloc[0]
            value = row["speedup"]
            text = ("refused" if row["verdict"] == REFUSED_VERDICT else
                    "n/a" if pd.isna(value) else f"{value:.2f}x")
            caveat = ("disturbed: other processes shared its one CPU" if row["disturbed"]
                      else "unequal work: a request cost the server "
                      f"{row['cost_1']:.1f} ms of CPU on 1 CPU, {row['cost_k']:.1f} ms on {k}"
                      if row["unequal"] else "")
            column.cells[str(target)] = ScoreCell(
                text + (" ?" if caveat else ""),
                "info" if caveat or row["refused"] else LEVEL.get(row["verdict"], "none"),
                "" if pd.isna(value) else float(value),
                f"{row['endpoint']} {mode(row['offload'])}: goodput 1 -> {k} CPUs "
                f"{text} (ideal {k}x); {row['verdict']}" + (f"; {caveat}" if caveat else ""))
        columns.append(column)
    return columns
