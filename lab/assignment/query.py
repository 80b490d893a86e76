"""The query language of assignment/questions.toml: what a question's expected answer is,
as data, evaluated over one run's tidy tables and scorecard. Nothing is ever eval'd.

A *value* query picks rows of one experiment's tidy table and reduces them to a number:

    { experiment = "blocking", metric = "latency_p99", over = "median",
      where = { target = "node/event-loop", phase = "inline", stream = "ping" } }

`where` maps a column to a value or a list of accepted values; without a `variant`, each
target's main variant is used (the one its scorecard row shows). `over` reduces the
matching rows (repetitions, or several targets): median (default), mean, min, max, sum,
count. Two value queries combine: `{ op = "ratio", of = [A, B] }` is A / B, and
`op = "difference"` is A - B.

A *choice* query gives a set of names:

- `{ from = "table", experiment, metric, where, over, by = "target", pick = "max" }`:
  the `by` value whose rows reduce to the largest (or "min": smallest) value;
  `test = { op = ">=", value = 1 }` instead of pick: every `by` value that passes;
  `by = ["runtime", "probe"]` names each by several columns ("python/create-task");
- `{ from = "scorecard", experiment, column = "/cpu inline", level = ["bad"] }`: the
  targets whose cell in that scorecard column has one of these levels (the report's
  colours: good, mixed, bad, info, none);
- `{ from = "fixed", options = { a = "...", b = "..." }, answer = ["b"] }`: a question
  about the concept whose answer does not depend on the run.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from analysis.integrity import canonical
from analysis.load import RunData
from analysis.stats import primary_variants

REDUCERS: dict[str, Callable[[pd.Series], float]] = {
    "median": lambda s: float(s.median()), "mean": lambda s: float(s.mean()),
    "min": lambda s: float(s.min()), "max": lambda s: float(s.max()),
    "sum": lambda s: float(s.sum()), "count": lambda s: float(s.count())}
COMBINERS: dict[str, Callable[[float, float], float]] = {
    "ratio": lambda a, b: a / b if b else math.nan, "difference": operator.sub}
TESTS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}
PICKS = ("max", "min")
LEVELS = ("good", "mixed", "bad", "info", "none")


class QueryError(Exception):
    """A query that does not parse (the question file's author must fix it), or that finds
    no data in a run (that student's answer cannot be graded)."""


class Scorecards(Protocol):
    def columns(self, experiment: str) -> list[Any]: ...


# -- the language -----------------------------------------------------------------------

@dataclass(frozen=True)
class Rows:
    """Rows of one experiment's tidy table, reduced to one number."""

    experiment: str
    metric: str
    where: tuple[tuple[str, tuple[object, ...]], ...] = ()
    over: str = "median"

    def describe(self) -> str:
        conditions = ", ".join(f"{c}={'|'.join(map(str, v))}" for c, v in self.where)
        return f"{self.over} of {self.experiment} {self.metric}" + (
            f" where {conditions}" if conditions else "")


@dataclass(frozen=True)
class Combined:
    op: str
    left: Query
    right: Query

    def describe(self) -> str:
        return f"{self.op} of ({self.left.describe()}) and ({self.right.describe()})"


Query = Rows | Combined


@dataclass(frozen=True)
class TableChoice:
    rows: Rows
    by: tuple[str, ...]
    pick: str | None = None
    test: tuple[str, float] | None = None


@dataclass(frozen=True)
class ScorecardChoice:
    experiment: str
    column: str
    levels: tuple[str, ...]


@dataclass(frozen=True)
class FixedChoice:
    options: Mapping[str, str]
    answer: frozenset[str] = field(default_factory=frozenset)


Choice = TableChoice | ScorecardChoice | FixedChoice


# -- parsing (from TOML tables) ---------------------------------------------------------

def _need(table: Mapping, key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise QueryError(f"{where}: '{key}' must be a {kind.__name__}, got {value!r}")
    return value


def _only(table: Mapping, keys: set[str], where: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise QueryError(f"{where}: unknown key(s) {', '.join(unknown)} "
                         f"(allowed: {', '.join(sorted(keys))})")


def _rows(table: Mapping, where: str, extra: set[str] = frozenset()) -> Rows:
    _only(table, {"experiment", "metric", "where", "over", *extra}, where)
    conditions = table.get("where", {})
    if not isinstance(conditions, Mapping):
        raise QueryError(f"{where}: 'where' must be a table of column = value(s)")
    parsed = []
    for column, accepted in conditions.items():
        values = tuple(accepted) if isinstance(accepted, list) else (accepted,)
        if not values or not all(isinstance(v, str | int | float) for v in values):
            raise QueryError(f"{where}: where.{column} must be a string, a number or a "
                             "list of them")
        parsed.append((str(column), values))
    over = table.get("over", "median")
    if over not in REDUCERS:
        raise QueryError(f"{where}: 'over' must be one of {', '.join(REDUCERS)}, got {over!r}")
    return Rows(_need(table, "experiment", str, where), _need(table, "metric", str, where),
                tuple(parsed), over)


def parse_query(table: object, where: str) -> Query:
    if not isinstance(table, Mapping):
        raise QueryError(f"{where}: a query is a table, got {table!r}")
    if "op" not in table:
        return _rows(table, where)
    _only(table, {"op", "of"}, where)
    op = table["op"]
    if op not in COMBINERS:
        raise QueryError(f"{where}: 'op' must be one of {', '.join(COMBINERS)}, got {op!r}")
    parts = table.get("of")
    if not (isinstance(parts, list) and len(parts) == 2):
        raise QueryError(f"{where}: '{op}' needs 'of = [query, query]'")
    return Combined(op, parse_query(parts[0], f"{where} {op}[0]"),
                    parse_query(parts[1], f"{where} {op}[1]"))


def parse_choice(table: object, where: str) -> Choice:
    if not isinstance(table, Mapping):
        raise QueryError(f"{where}: choices is a table, got {table!r}")
    source = table.get("from")
    if source == "table":
        rows = _rows({k: v for k, v in table.items() if k != "from"}, where,
                     {"by", "pick", "test"})
        by = table.get("by")
        by = [by] if isinstance(by, str) else by
        if not (isinstance(by, list) and by and all(isinstance(c, str) for c in by)):
            raise QueryError(f"{where}: 'by' must be a column, or a list of columns")
        pick, test = table.get("pick"), table.get("test")
        if (pick is None) == (test is None):
            raise QueryError(f"{where}: give exactly one of 'pick' (max or min) and 'test'")
        if pick is not None and pick not in PICKS:
            raise QueryError(f"{where}: 'pick' must be max or min, got {pick!r}")
        parsed_test = None
        if test is not None:
            if not (isinstance(test, Mapping) and test.get("op") in TESTS
                    and isinstance(test.get("value"), int | float)):
                raise QueryError(f"{where}: 'test' must be {{ op = one of "
                                 f"{' '.join(TESTS)}, value = a number }}")
            parsed_test = (test["op"], float(test["value"]))
        return TableChoice(rows, tuple(by), pick, parsed_test)
    if source == "scorecard":
        _only(table, {"from", "experiment", "column", "level"}, where)
        levels = table.get("level")
        levels = [levels] if isinstance(levels, str) else levels
        if not (isinstance(levels, list) and levels and all(v in LEVELS for v in levels)):
            raise QueryError(f"{where}: 'level' must be one or more of {', '.join(LEVELS)}")
        return ScorecardChoice(_need(table, "experiment", str, where),
                               _need(table, "column", str, where), tuple(levels))
    if source == "fixed":
        _only(table, {"from", "options", "answer"}, where)
        options = table.get("options")
        answer = table.get("answer")
        if not (isinstance(options, Mapping) and options
                and all(isinstance(v, str) for v in options.values())):
            raise QueryError(f"{where}: 'options' must be a table of key = \"text\"")
        if not (isinstance(answer, list) and answer and set(answer) <= set(options)):
            raise QueryError(f"{where}: 'answer' must list keys of 'options'")
        return FixedChoice(dict(options), frozenset(answer))
    raise QueryError(f"{where}: 'from' must be table, scorecard or fixed, got {source!r}")


# -- evaluation -------------------------------------------------------------------------

def _matching(run: RunData, rows: Rows) -> pd.DataFrame:
    frame = run.table(rows.experiment)
    if frame.empty:
        raise QueryError(f"the run has no {rows.experiment} results")
    columns = dict(rows.where)
    mask = frame["metric"].astype(str) == rows.metric
    for column, accepted in columns.items():
        if column not in frame.columns:
            raise QueryError(f"{rows.experiment}.csv has no column '{column}'")
        mask &= frame[column].map(canonical).isin({canonical(v) for v in accepted})
    found = frame[mask]
    if "variant" not in columns and not found.empty:
        primary = primary_variants(frame)
        keep = [(str(t), str(v)) in primary
                for t, v in zip(found["target"], found["variant"], strict=True)]
        found = found[pd.Series(keep, index=found.index, dtype=bool)]
    found = found.dropna(subset=["value"])
    if found.empty:
        raise QueryError(f"no measured value in the run for: {rows.describe()}")
    return found


def evaluate(query: Query, run: RunData) -> float:
    """The number a value query gives on a run; QueryError when the run has no such data."""
    if isinstance(query, Combined):
        value = COMBINERS[query.op](evaluate(query.left, run), evaluate(query.right, run))
    else:
        value = REDUCERS[query.over](_matching(run, query)["value"])
    if math.isnan(value):
        raise QueryError(f"{query.describe()} is undefined on this run")
    return value


def _by_value(choice: TableChoice, run: RunData) -> dict[str, float]:
    found = _matching(run, choice.rows)
    missing = [c for c in choice.by if c not in found.columns]
    if missing:
        raise QueryError(f"{choice.rows.experiment}.csv has no column '{missing[0]}'")
    names = found[list(choice.by)].astype(str).agg("/".join, axis=1)
    reduce = REDUCERS[choice.rows.over]
    return {str(name): reduce(group["value"]) for name, group in found.groupby(names, sort=True)}


def _scorecard_column(choice: ScorecardChoice, scorecards: Scorecards) -> Any:
    for column in scorecards.columns(choice.experiment):
        if column.title == choice.column:
            return column
    raise QueryError(f"the run's scorecard has no column '{choice.column}' of "
                     f"{choice.experiment}")


def choose(choice: Choice, run: RunData, scorecards: Scorecards) -> frozenset[str]:
    """The set of names a choice query gives on a run (a fixed choice: its answer)."""
    if isinstance(choice, FixedChoice):
        return choice.answer
    if isinstance(choice, ScorecardChoice):
        column = _scorecard_column(choice, scorecards)
        return frozenset(t for t, cell in column.cells.items() if cell.level in choice.levels)
    values = _by_value(choice, run)
    if choice.pick is not None:
        best = (max if choice.pick == "max" else min)(values.values())
        return frozenset(name for name, v in values.items() if v == best)
    op, threshold = choice.test  # type: ignore[misc]
    return frozenset(name for name, v in values.items() if TESTS[op](v, threshold))


def options(choice: Choice, run: RunData | None, scorecards: Scorecards | None) -> list[str]:
    """What a student may choose from (for the answers template); empty when unknown."""
    if isinstance(choice, FixedChoice):
        return [f"{key}: {text}" for key, text in choice.options.items()]
    if run is None or scorecards is None:
        return []
    try:
        if isinstance(choice, ScorecardChoice):
            return sorted(_scorecard_column(choice, scorecards).cells)
        return sorted(_by_value(choice, run))
    except QueryError:
        return []
