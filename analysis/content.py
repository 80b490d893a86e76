"""What an experiment's analysis hands the report: findings, concept, section, scorecard.

Plain data; experiments fill it (lab/experiments/<name>/), analysis/report.py lays it out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the heavy modules (matplotlib, pandas) load only when a report is made
    from analysis.palette import Figure
    from analysis.tables import Table

# Scorecard levels: how a cell reads against the lesson (the legend says what each means).
LEVELS = ("good", "mixed", "bad", "info", "none")


def label(target: str, variant: str = "default") -> str:
    """'target' for the default variant, else 'target (variant)': the one naming rule."""
    return target if variant in ("default", "", None) else f"{target} ({variant})"


@dataclass(frozen=True)
class Finding:
    """A sentence whose every number comes from the data (kept in values, for tests)."""

    experiment: str
    text: str
    kind: str = "result"   # result | note | flag | failure
    values: dict[str, float] = field(default_factory=dict)
    headline: bool = False

    def __post_init__(self) -> None:  # plain floats, whatever pandas handed over
        object.__setattr__(self, "values", {
            k: math.nan if v is None else float(v) for k, v in self.values.items()})


LOWER_IS_BETTER_UNITS = ("ms", "s", "us", "errors", "requests failed")


@dataclass(frozen=True)
class Headline:
    """What lab.compare compares for an experiment: these metrics, in rows matching where.

    better: metric -> "higher" or "lower", where the default (direction()) is wrong.
    """

    metrics: tuple[str, ...]
    where: Mapping[str, object] = field(default_factory=dict)
    better: Mapping[str, str] = field(default_factory=dict)

    def direction(self, metric: str, unit: str = "") -> str:
        """Which way is better: explicit, else lower for times, latencies and errors,
        higher for everything else (rates, goodput, efficiency)."""
        if metric in self.better:
            return self.better[metric]
        lower = unit in LOWER_IS_BETTER_UNITS or metric.startswith(("latency", "errors"))
        return "lower" if lower else "higher"


@dataclass(frozen=True)
class Concept:
    title: str
    paragraphs: tuple[str, ...]


@dataclass
class Section:
    """One experiment's part of the report: the idea, then figures, findings and tables."""

    name: str
    concept: Concept
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    statement: str = ""   # shown instead of figures and tables when there is no data
    method: list[str] = field(default_factory=list)   # how to read this section's numbers


@dataclass(frozen=True)
class ScoreCell:
    text: str
    level: str = "info"          # one of LEVELS: its colour in the scorecard
    sort: float | str = ""
    detail: str = ""             # the tooltip: where the number comes from


@dataclass
class ScoreColumn:
    """One lesson as a scorecard column: a cell per target, and what the colours mean."""

    experiment: str
    title: str
    legend: dict[str, str]       # level -> what it means in this column
    cells: dict[str, ScoreCell] = field(default_factory=dict)


class Analysable(Protocol):
    """What the report and lab.compare need of an experiment (lab.experiments.framework
    .Experiment provides it); analysis never imports the experiments themselves."""

    name: str
    title: str
    concept: Concept
    flags: Mapping[str, str]
    story_rank: int | None

    headline: Headline

    def section(self, run: Any, palette: dict) -> Section: ...

    def scorecard(self, run: Any) -> list[ScoreColumn]: ...

    def overview(self, run: Any, palette: dict) -> Figure | None: ...
