"""The class report of lab.grade: one self-contained HTML page and one CSV row per student.

The page's first screen is the class at a glance: one row per submission (score, integrity,
machine, one coloured cell per question), then the class distribution of every measured
quantity from the students' own data, where an outlier machine or a doctored run stands
out. Details follow: every question with every answer, integrity problems, the students'
own runtimes and their conformance, rejected archives.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from analysis.stats import fmt
from lab.assignment.grade import FLAGS, Graded
from lab.assignment.marking import COLLECTED, CORRECT, MISSING, UNGRADABLE, WRONG
from lab.assignment.questions import Question
from lab.results import atomic_write, now_iso

TEMPLATES = Path(__file__).parent / "templates"
SYMBOL = {CORRECT: "✓", WRONG: "✗", MISSING: "–", UNGRADABLE: "?", COLLECTED: "✎"}
LEVEL = {CORRECT: "good", WRONG: "bad", MISSING: "none", UNGRADABLE: "mixed",
         COLLECTED: "info"}
# A robust z-score (distance from the class median in scaled MADs) beyond this is an outlier.
OUTLIER_Z = 3.5
MIN_FOR_OUTLIERS = 5
SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Distribution:
    question: Question
    values: list[tuple[str, float, bool]]      # student, own data's value, trusted
    median: float
    low: float
    high: float
    outliers: list[str]


def robust_outliers(values: Sequence[tuple[str, float]]) -> list[str]:
    """Students whose value is over OUTLIER_Z scaled MADs from the median (n >= 5)."""
    if len(values) < MIN_FOR_OUTLIERS:
        return []
    numbers = [v for _, v in values]
    middle = statistics.median(numbers)
    mad = statistics.median(abs(v - middle) for v in numbers) * 1.4826
    if mad == 0:
        return [name for name, v in values if v != middle]
    return [name for name, v in values if abs(v - middle) / mad > OUTLIER_Z]


def distributions(graded: Sequence[Graded], questions: Sequence[Question]) -> list[Distribution]:
    found = []
    for question in questions:
        if question.kind != "measured":
            continue
        values = [(g.student_id or g.archive.name, g.measured[question.id], g.trusted)
                  for g in graded if question.id in g.measured]
        if not values:
            continue
        numbers = sorted(v for _, v, _ in values)
        trusted = [(name, v) for name, v, ok in values if ok]
        found.append(Distribution(question, values, statistics.median(numbers), numbers[0],
                                  numbers[-1], robust_outliers(trusted)))
    return found


def figure(found: Sequence[Distribution]) -> str | None:
    """One strip per measured question: each student's own value; flagged runs in red."""
    if not found:
        return None
    import matplotlib.pyplot as plt

    from analysis.palette import embed, setup

    setup()
    fig, axes = plt.subplots(len(found), 1, figsize=(7.0, 0.6 + 0.8 * len(found)),
                             squeeze=False)
    for ax, each in zip(axes[:, 0], found, strict=True):
        for index, (name, value, trusted) in enumerate(each.values):
            jitter = ((index * 0.618) % 1.0 - 0.5) * 0.5
            outlier = name in each.outliers
            style = ({"marker": "x", "color": "#C62828"} if not trusted else
                     {"marker": "o", "color": "#0b5cad",
                      "edgecolors": "black" if outlier else "none"})
            ax.scatter([value], [jitter], s=36 if outlier else 22, zorder=3, **style)
            if outlier or not trusted:
                ax.annotate(name, (value, jitter), xytext=(4, 4), textcoords="offset points",
                            fontsize=7)
        ax.axvline(each.median, color="#546E7A", linestyle="--", linewidth=1)
        positive = all(v > 0 for _, v, _ in each.values)
        if positive and each.high / each.low > 20:
            ax.set_xscale("log")
        ax.set_yticks([])
        ax.set_ylim(-0.6, 0.6)
        ax.set_title(f"{each.question.id} ({each.question.unit})", fontsize=9, loc="left")
    fig.tight_layout()
    return embed(fig)


def shared_groups(graded: Sequence[Graded]) -> list[tuple[str, list[str]]]:
    """(run id, students) for every run that more than one submission holds."""
    groups: dict[str, list[Graded]] = {}
    for each in graded:
        if each.run_sha256:
            groups.setdefault(each.run_sha256, []).append(each)
    return [(members[0].run_id, [g.student_id or g.archive.name for g in members])
            for members in groups.values() if len(members) > 1]


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(SPREADSHEET_FORMULA) else text


def _conformance_text(graded: Graded) -> str:
    return "; ".join(f"{target}: {r.get('passed', 0)} passed, {len(r.get('failed') or [])} "
                     f"failed ({r.get('suite', '?')} suite, {r.get('backend', '?')})"
                     for target, r in graded.runtime_conformance.items())


def class_csv(graded: Sequence[Graded], questions: Sequence[Question]) -> str:
    """One row per submission, one column per question (its mark; text answers in full)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student_id", "student_name", "archive", "run_id", "status",
                     "rejected_because", "integrity", "integrity_details", "machine",
                     "backend", "profile", "score", "possible",
                     *(q.id for q in questions), "own_runtime", "own_runtime_conformance"])
    for each in graded:
        score, possible = each.score(questions)
        cells = [each.marks[q.id].answer if q.kind == "text" and q.id in each.marks
                 else each.marks[q.id].status if q.id in each.marks else ""
                 for q in questions]
        writer.writerow([_csv_cell(v) for v in (
            each.student_id, each.student_name, each.archive.name, each.run_id,
            "rejected" if each.rejected else "graded", each.rejected,
            ";".join(each.flags) or ("" if each.rejected else "ok"),
            " | ".join(f"{k}: {p}" for k, ps in each.flags.items() for p in ps),
            each.machine, each.backend, each.profile,
            "" if each.rejected else f"{score:g}", f"{possible:g}", *cells, each.runtime,
            _conformance_text(each))])
    return out.getvalue()


def render(graded: Sequence[Graded], questions: Sequence[Question], seconds: float,
           uncovered: Sequence[str]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    found = distributions(graded, questions)
    accepted = [g for g in graded if not g.rejected]
    return env.get_template("class.html.j2").render(
        graded=sorted(graded, key=lambda g: (bool(g.rejected), g.student_id,
                                             g.archive.name)),
        accepted=accepted, questions=questions, distributions=found,
        figure=figure(found), symbol=SYMBOL, level=LEVEL, flags=FLAGS,
        flagged=[g for g in accepted if g.flags], untrusted=[g for g in accepted
                                                             if not g.trusted],
        rejected=[g for g in graded if g.rejected], seconds=seconds, uncovered=uncovered,
        shared=shared_groups(graded),
        own=[g for g in accepted if g.runtime], generated=now_iso())


def write(graded: Sequence[Graded], questions: Sequence[Question], out_dir: Path,
          seconds: float, uncovered: Sequence[str] = ()) -> tuple[Path, Path]:
    """out_dir/class.html and out_dir/class.csv."""
    html_path, csv_path = out_dir / "class.html", out_dir / "class.csv"
    atomic_write(html_path, render(graded, questions, seconds, uncovered))
    atomic_write(csv_path, class_csv(graded, questions))
    return html_path, csv_path
