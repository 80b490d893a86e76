"""Marking one student's answers against what their own run says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from analysis.load import RunData
from analysis.stats import fmt
from lab.assignment.answers import Answers, as_names, as_number
from lab.assignment.query import QueryError, choose, evaluate
from lab.assignment.questions import Question

CORRECT, WRONG, MISSING, UNGRADABLE, COLLECTED = (
    "correct", "wrong", "missing", "ungradable", "collected")


class Analysed(Protocol):
    name: str

    def scorecard(self, run: Any) -> list[Any]: ...


@dataclass(frozen=True)
class Mark:
    status: str               # correct | wrong | missing | ungradable | collected (text)
    answer: str = ""
    expected: str = ""
    detail: str = ""
    score: float = 0.0


class Scorecards:
    """Each experiment's scorecard columns on one run, computed when first asked for."""

    def __init__(self, run: RunData, experiments: Sequence[Analysed]) -> None:
        self.run = run
        self.experiments = {e.name: e for e in experiments}
        self.cache: dict[str, list[Any]] = {}

    def columns(self, experiment: str) -> list[Any]:
        if experiment not in self.cache:
            found = self.experiments.get(experiment)
            try:
                self.cache[experiment] = found.scorecard(self.run) if found else []
            except (KeyError, ValueError, TypeError):
                self.cache[experiment] = []
        return self.cache[experiment]


def _names(names: frozenset[str]) -> str:
    return ", ".join(sorted(names)) or "(none)"


def mark(question: Question, answers: Answers, run: RunData,
         scorecards: Scorecards) -> tuple[Mark, float | None]:
    """The mark, and for a measured question the value the student's data gives."""
    given = answers.values.get(question.id)
    if question.kind == "text":
        text = given if isinstance(given, str) else ""
        return Mark(COLLECTED if text.strip() else MISSING, text.strip()), None
    if question.kind == "measured":
        assert question.query is not None
        try:
            expected = evaluate(question.query, run)
        except QueryError as exc:
            return Mark(UNGRADABLE, str(given or ""), detail=str(exc)), None
        shown = f"{fmt(expected, question.unit)} {question.unit} " \
                f"{question.tolerance.describe(expected)}"
        if not answers.given(question):
            return Mark(MISSING, expected=shown), expected
        number = as_number(given, question.unit)
        if number is None:
            return Mark(WRONG, str(given), shown, f"not a number in {question.unit}"), expected
        ok = question.tolerance.allows(number, expected)
        return Mark(CORRECT if ok else WRONG, f"{number:g}", shown,
                    score=question.points if ok else 0.0), expected
    assert question.choices is not None
    try:
        wanted = choose(question.choices, run, scorecards)
    except QueryError as exc:
        return Mark(UNGRADABLE, str(given or ""), detail=str(exc)), None
    if not answers.given(question) and wanted:
        return Mark(MISSING, expected=_names(wanted)), None
    names = as_names(given if given is not None else [])
    if names is None:
        return Mark(WRONG, str(given), _names(wanted), "not a list of names"), None
    if names == wanted:
        return Mark(CORRECT, _names(names), _names(wanted), score=question.points), None
    detail = "; ".join(part for part in (
        f"missing {_names(wanted - names)}" if wanted - names else "",
        f"not expected {_names(names - wanted)}" if names - wanted else "") if part)
    return Mark(WRONG, _names(names), _names(wanted), detail), None
