"""The scorecard: targets x the lessons, one coloured cell each, with the report's legend.

Columns come from the experiments (Analysable.scorecard); the last columns say what went
wrong per target, so a reader sees at once which numbers to distrust.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analysis.content import Analysable, ScoreCell, ScoreColumn
from analysis.load import RunData
from analysis.quality import failure_table, flag_table


@dataclass
class Scorecard:
    columns: list[ScoreColumn]
    rows: list[str]                       # target names, in order

    def cell(self, column: ScoreColumn, row: str) -> ScoreCell:
        return column.cells.get(row, ScoreCell("-", "none", ""))


def _health(run: RunData, rows: list[str]) -> list[ScoreColumn]:
    flags, failures = flag_table(run), failure_table(run)
    flagged = ScoreColumn("(all)", "flagged", {
        "good": "none", "mixed": "some measurements flagged (see Failures and flags)"})
    failed = ScoreColumn("(all)", "failed", {
        "good": "none", "bad": "sessions, points or the whole target failed"})
    for target in rows:
        n_flags = int((flags["target"] == target).sum())
        n_failed = int((failures["target"] == target).sum())
        reason = run.failed_targets.get(target, "")
        flagged.cells[target] = ScoreCell(str(n_flags), "mixed" if n_flags else "good", n_flags)
        failed.cells[target] = ScoreCell(reason or str(n_failed), "bad" if n_failed or reason
                                      else "good", n_failed, reason)
    return [flagged, failed]


def build(run: RunData, experiments: Sequence[Analysable]) -> Scorecard:
    """Every experiment's columns that have at least one cell, then the health columns.

    Cells are keyed by target name: each experiment shows its main variant per target."""
    columns: list[ScoreColumn] = []
    for experiment in experiments:
        if run.table(experiment.name).empty:
            continue
        try:
            columns += [c for c in experiment.scorecard(run) if c.cells]
        except (KeyError, ValueError):  # a table of an unexpected shape costs its columns only
            continue
    rows = sorted({*run.target_names, *(name for c in columns for name in c.cells)})
    return Scorecard([*columns, *_health(run, rows)], rows)
