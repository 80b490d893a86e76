"""A student's answers file (answers.toml): the template lab.submit writes, and reading it.

    [student]
    id = "s1234567"
    name = "Ada Lovelace"
    runtime = ""          # the optional part: the folder name of the runtime you added

    [answers]
    blocking-node-inline-p99 = 96.2               # measured: a number in the question's unit
    blocking-who-stalls = ["node/event-loop"]     # choice: the names that apply
    blocking-why-offload = '''free text'''        # text
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from dataclasses import dataclass, field

from lab.assignment.questions import Question
from lab.errors import LabError

ANSWERS_FILE = "answers.toml"
NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*)?$")


@dataclass(frozen=True)
class Answers:
    student_id: str
    student_name: str
    runtime: str = ""
    values: dict[str, object] = field(default_factory=dict)

    def given(self, question: Question) -> bool:
        value = self.values.get(question.id)
        return value not in (None, "", [])


def parse_answers(text: str, where: str = ANSWERS_FILE) -> Answers:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LabError(f"{where} is not valid TOML: {exc}",
                       hint="strings need quotes; a list of names is [\"a\", \"b\"]") from None
    student = data.get("student", {})
    answers = data.get("answers", {})
    if not isinstance(student, dict) or not isinstance(answers, dict):
        raise LabError(f"{where}: [student] and [answers] must be tables")
    fields = {key: student.get(key, "") for key in ("id", "name", "runtime")}
    wrong = [key for key, value in fields.items() if not isinstance(value, str)]
    if wrong:
        raise LabError(f"{where}: student.{wrong[0]} must be a string in quotes")
    return Answers(fields["id"].strip(), fields["name"].strip(), fields["runtime"].strip(),
                   dict(answers))


def as_number(value: object, unit: str) -> float | None:
    """A measured answer: a number, or a string of one, optionally followed by its unit."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    found = NUMBER.match(str(value).replace(",", "")) if isinstance(value, str) else None
    if not found or (found.group(2) and found.group(2).strip() != unit):
        return None
    return float(found.group(1))


def as_names(value: object) -> frozenset[str] | None:
    """A choice answer: a list of names (or one name)."""
    if isinstance(value, str):
        return frozenset([value.strip()]) if value.strip() else frozenset()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(v.strip() for v in value if v.strip())
    return None


def _comment(text: str, width: int = 88) -> list[str]:
    lines = []
    for paragraph in text.splitlines() or [""]:
        lines += ["# " + line for line in textwrap.wrap(paragraph, width - 2)] or ["#"]
    return lines


def template(questions: list[Question], options: dict[str, list[str]]) -> str:
    """answers.toml with every question as comments above its empty answer."""
    out = ["# Answers to the Async Runtime Lab assignment (assignment/README.md).",
           "# Fill in [student], then each answer; `uv run invoke lab.submit` packs this file",
           "# with your run. Measured answers are numbers in the unit given (read them off",
           "# your report), choices are lists of names in quotes, text answers go between",
           "# the triple quotes.", "", "[student]", 'id = ""          # your student number',
           'name = ""',
           'runtime = ""     # optional part: the folder name under runtimes/ of the runtime',
           "                 # you added (leave empty if you did not)", "", "[answers]"]
    for question in questions:
        out += ["", f"# --- {question.id} ({question.kind}"
                f"{', ' + question.unit if question.unit else ''}; report section: "
                f"{question.section}{'; optional' if question.optional else ''})"]
        out += _comment(question.text)
        if question.kind == "measured":
            out.append(f'{question.id} = ""   # a number, in {question.unit}')
        elif question.kind == "choice":
            choices = options.get(question.id) or []
            if choices:
                out += _comment("choose from: " + ", ".join(choices))
            out.append(f"{question.id} = []")
        else:
            out.append(f"{question.id} = '''\n'''")
    return "\n".join(out) + "\n"
