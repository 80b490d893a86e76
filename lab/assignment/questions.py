"""The assignment's questions: assignment/questions.toml, read and checked.

Each question has an id, its text, the report section it is about (an experiment's name,
or "own-runtime" for the optional part), and a kind:

- measured: a number in `unit`; the grader computes the expected value from the
  student's own run with `query` (lab.assignment.query) and accepts answers within
  `tolerance` (relative and absolute; the wider wins);
- choice: a set of names; the grader computes the expected set with `choices`;
- text: collected for the teacher, never graded automatically.

Adding or changing a question is an edit of the TOML file only.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from lab import ROOT
from lab.assignment.query import Choice, Query, QueryError, parse_choice, parse_query
from lab.errors import LabError

ASSIGNMENT_DIR = ROOT / "assignment"
QUESTIONS_FILE = ASSIGNMENT_DIR / "questions.toml"
KINDS = ("measured", "choice", "text")
OWN_RUNTIME = "own-runtime"
ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Reading a number off the report loses digits: it prints 2-3 significant ones.
DEFAULT_RELATIVE = 0.05


@dataclass(frozen=True)
class Tolerance:
    relative: float = DEFAULT_RELATIVE
    absolute: float = 0.0

    def allows(self, answer: float, expected: float) -> bool:
        return abs(answer - expected) <= max(self.absolute, self.relative * abs(expected))

    def describe(self, expected: float) -> str:
        return f"± {max(self.absolute, self.relative * abs(expected)):.3g}"


@dataclass(frozen=True)
class Question:
    id: str
    section: str
    kind: str
    text: str
    unit: str = ""
    points: float = 1.0
    optional: bool = False
    tolerance: Tolerance = Tolerance()
    query: Query | None = None
    choices: Choice | None = None

    @property
    def graded(self) -> bool:
        return self.kind != "text"


def _question(table: dict, index: int, source: str) -> Question:
    where = f"{source} question {index + 1}"
    allowed = {"id", "section", "kind", "text", "unit", "points", "optional", "tolerance",
               "query", "choices"}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise LabError(f"{where}: unknown key(s) {', '.join(unknown)}",
                       hint=f"a question has {', '.join(sorted(allowed))}")
    for key in ("id", "section", "kind", "text"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise LabError(f"{where}: '{key}' must be a non-empty string")
    qid, kind = table["id"], table["kind"]
    where = f"{source} question '{qid}'"
    if not ID.match(qid):
        raise LabError(f"{where}: ids are lowercase letters, digits and '-'")
    if kind not in KINDS:
        raise LabError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    points = table.get("points", 1.0)
    if isinstance(points, bool) or not isinstance(points, int | float) or points < 0:
        raise LabError(f"{where}: 'points' must be a number >= 0")
    needs = {"measured": "query", "choice": "choices"}.get(kind)
    for key in ("query", "choices"):
        if (key in table) != (key == needs):
            raise LabError(f"{where}: a {kind} question " + (
                f"needs '{key}'" if key == needs else f"has no '{key}'"))
    if kind == "measured" and not isinstance(table.get("unit"), str):
        raise LabError(f"{where}: a measured question needs its 'unit' (e.g. \"ms\")")
    tolerance = table.get("tolerance", {})
    if not (isinstance(tolerance, dict) and set(tolerance) <= {"relative", "absolute"}
            and all(isinstance(v, int | float) and v >= 0 for v in tolerance.values())):
        raise LabError(f"{where}: 'tolerance' is {{ relative = 0.05, absolute = 0.5 }}")
    try:
        query = parse_query(table["query"], where) if kind == "measured" else None
        choices = parse_choice(table["choices"], where) if kind == "choice" else None
    except QueryError as exc:
        raise LabError(str(exc), hint="the query language is described in "
                                      "lab/assignment/query.py") from None
    return Question(qid, table["section"], kind, table["text"].strip(),
                    str(table.get("unit", "")), float(points), bool(table.get("optional")),
                    Tolerance(float(tolerance.get("relative", DEFAULT_RELATIVE)),
                              float(tolerance.get("absolute", 0.0))), query, choices)


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except OSError as exc:
        raise LabError(f"cannot read {path} ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise LabError(f"{path} is not valid TOML: {exc}") from None


def load_sections(path: Path = QUESTIONS_FILE) -> dict[str, str]:
    """[sections]: each section's heading, in the order the handout lists them."""
    sections = _read(path).get("sections", {})
    if not (isinstance(sections, dict) and all(isinstance(v, str) for v in sections.values())):
        raise LabError(f"{path}: [sections] maps a section to its heading (a string)")
    return sections


def load_questions(path: Path = QUESTIONS_FILE) -> list[Question]:
    """Every question of the file, checked; LabError naming the question otherwise."""
    data = _read(path)
    tables = data.get("questions")
    if not (isinstance(tables, list) and tables):
        raise LabError(f"{path} has no [[questions]]")
    questions = [_question(t, i, path.name) for i, t in enumerate(tables)]
    sections = load_sections(path)
    unknown = sorted({q.section for q in questions} - set(sections))
    if sections and unknown:
        raise LabError(f"{path}: section(s) {', '.join(unknown)} are not in [sections]")
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise LabError(f"{path}: question ids repeat: "
                       f"{', '.join(sorted({i for i in ids if ids.count(i) > 1}))}")
    return questions


def uncovered(questions: list[Question], experiments: list[str]) -> list[str]:
    """Experiments that no question is about."""
    return [name for name in experiments if not any(q.section == name for q in questions)]
