"""The question list of the handout (assignment/README.md), generated from questions.toml.

    uv run python -m lab.assignment.handout    rewrites the list between the markers

A unit test fails while the handout's list differs from the file, so a question changed in
questions.toml cannot be handed out stale.
"""

from __future__ import annotations

from collections.abc import Sequence

from lab.assignment.query import FixedChoice
from lab.assignment.questions import (
    ASSIGNMENT_DIR,
    OWN_RUNTIME,
    Question,
    load_questions,
    load_sections,
)

HANDOUT = ASSIGNMENT_DIR / "README.md"
BEGIN = "<!-- questions: generated from questions.toml by `uv run python -m " \
        "lab.assignment.handout`; do not edit by hand -->"
END = "<!-- end of questions -->"
KIND = {"measured": "a number", "choice": "a list of names", "text": "written"}


def question_list(questions: Sequence[Question], sections: dict[str, str]) -> str:
    lines = []
    section = None
    for number, question in enumerate(questions, 1):
        if question.section != section:
            section = question.section
            title = sections.get(section, section)
            if section != OWN_RUNTIME:
                title += f" (report section: {section})"
            lines += ["", f"#### {title}", ""]
        kind = KIND[question.kind] + (f", in {question.unit}" if question.unit else "")
        kind += ", optional" if question.optional else ""
        text = " ".join(question.text.split())
        if isinstance(question.choices, FixedChoice):
            kind = "a list of letters"
            text += " " + " ".join(f"({key}) {option}."
                                   for key, option in question.choices.options.items())
        lines.append(f"{number}. **`{question.id}`** ({kind}). {text}")
    return "\n".join([BEGIN, *lines, "", END])


def current(text: str) -> str:
    """The generated block as it stands in the handout ('' without markers)."""
    if BEGIN not in text or END not in text:
        return ""
    return text[text.index(BEGIN):text.index(END) + len(END)]


def refresh() -> bool:
    """Rewrite the handout's list; True if it changed."""
    text = HANDOUT.read_text()
    block = current(text)
    if not block:
        raise SystemExit(f"{HANDOUT} has no question markers")
    fresh = question_list(load_questions(), load_sections())
    HANDOUT.write_text(text.replace(block, fresh))
    return block != fresh


if __name__ == "__main__":
    print(f"{HANDOUT}: {'updated' if refresh() else 'already up to date'}")
