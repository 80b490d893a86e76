"""The course's tasks as the user sees them: lab.submit (and its answers template) and
lab.grade, with their messages. The experiments and the report writer come from the
caller (tasks.py), so this layer imports nothing above it."""

from __future__ import annotations

import glob
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.markup import escape

from analysis.load import load_run
from lab import REPORTS_DIR, RESULTS_DIR, ROOT
from lab.assignment import classreport
from lab.assignment.answers import template
from lab.assignment.grade import Gradable, archives, grade, shared_runs
from lab.assignment.marking import Scorecards
from lab.assignment.query import options
from lab.assignment.questions import load_questions, uncovered
from lab.assignment.submit import submit
from lab.console import console, progress, warn
from lab.errors import LabError
from lab.results import open_run


def write_template(path: Path, run_id: str, experiments: Sequence[Gradable]) -> Path:
    """answers.toml for the questions; choice questions list the names the run has (when
    there is a run: 'latest' may find none yet)."""
    if path.exists():
        raise LabError(f"{path} exists; the template never overwrites answers",
                       hint="move it away first, or give another path with --answers")
    questions = load_questions()
    choices: dict[str, list[str]] = {}
    if run_id != "latest" or any(RESULTS_DIR.glob("*/run.json")):
        run = load_run(open_run(run_id).folder)
        scorecards = Scorecards(run, experiments)
        choices = {q.id: options(q.choices, run, scorecards)
                   for q in questions if q.choices is not None}
    path.write_text(template(questions, choices))
    return path


def submit_run(run_id: str, answers: Path, out: Path, allow_incomplete: bool,
               experiments: Sequence[str], write_report: Callable[[str], Path]) -> Path:
    run = open_run(run_id)
    report = REPORTS_DIR / run.run_id / "index.html"
    if not report.is_file():
        console.print(f"writing the report of run {run.run_id} first")
        report = write_report(run.run_id)
    packed = submit(run.folder, answers, report, out, load_questions(), experiments,
                    allow_incomplete)
    for message in packed.warnings:
        warn(escape(message))
    size = packed.archive.stat().st_size
    console.print(f"packed {packed.files} files of run {run.run_id} ({size / 2**20:.1f} MiB)")
    return packed.archive


def expand(patterns: str) -> list[Path]:
    """Comma-separated archives, folders or shell patterns (relative to the lab's folder
    when they are not found where the task was started)."""
    paths: list[Path] = []
    for pattern in (p.strip() for p in patterns.split(",") if p.strip()):
        matches = sorted(glob.glob(pattern)) or sorted(glob.glob(str(ROOT / pattern)))
        paths += [Path(m) for m in matches] or [Path(pattern)]
    return paths


def grade_paths(paths: Sequence[Path], out: Path,
                experiments: Sequence[Gradable]) -> tuple[Path, Path]:
    questions = load_questions()
    found = archives(paths)
    planned = [e.name for e in experiments]
    started = time.perf_counter()
    graded = []
    with progress() as bar:
        task = bar.add_task("grading", total=len(found))
        for archive in found:
            bar.update(task, description=f"grading {escape(archive.name)}")
            graded.append(grade(archive, questions, experiments, planned))
            bar.advance(task)
    shared_runs(graded)
    seconds = time.perf_counter() - started
    missing = uncovered(questions, planned)
    if missing:
        warn(f"assignment/questions.toml has no question about {', '.join(missing)}")
    for each in graded:
        if each.rejected:
            console.print(f"[red]rejected[/red] {escape(each.archive.name)}: "
                          f"{escape(each.rejected)}")
        elif not each.trusted:
            console.print(f"[yellow]flagged[/yellow] {escape(each.student_id)} "
                          f"({escape(each.archive.name)}): {', '.join(each.flags)}")
    accepted = sum(1 for g in graded if not g.rejected)
    console.print(f"graded {accepted} of {len(graded)} submission(s) in {seconds:.1f} s")
    return classreport.write(graded, questions, out, seconds, missing)
