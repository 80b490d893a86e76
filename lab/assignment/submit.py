"""lab.submit: one archive of a run, its report, the student's answers and a manifest.

A run that did not finish, or lacks an experiment or the conformance table that lab.all
records, is refused (unless allowed), with what to do; answers that cannot be graded are
warned about. Nothing in the run is changed.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.assignment import manifest
from lab.assignment.answers import ANSWERS_FILE, Answers, as_names, as_number, parse_answers
from lab.assignment.archive import MANIFEST, pack
from lab.assignment.questions import Question
from lab.errors import LabError
from lab.targets import runtime_dirs

# Not part of a runtime's sources: build outputs and dependencies.
SKIPPED_FOLDERS = {"build", "target", "node_modules", ".venv", "__pycache__", ".git"}
RUNTIME_FILE_BYTES = 1 << 20
RUNTIME_FILES = 500


@dataclass
class Packed:
    archive: Path
    files: int
    warnings: list[str] = field(default_factory=list)


def incomplete(meta: dict, folder: Path, experiments: Sequence[str]) -> list[str]:
    """Why a run is not what the assignment asks for (empty: it is)."""
    run_id = meta.get("run_id", folder.name)
    reasons = []
    status = meta.get("status")
    if status != "complete":
        reasons.append(f"its status is '{status}': the lab stopped before it finished; "
                       f"finish it with `uv run invoke lab.all --resume {run_id}`")
    planned = meta.get("experiments") or []
    missing = [name for name in experiments if name not in planned]
    if missing:
        reasons.append(f"it did not run {', '.join(missing)}: the assignment needs every "
                       "experiment (`uv run invoke lab.all`)")
    empty = [name for name in planned if not (folder / f"{name}.csv").exists()]
    if empty:
        reasons.append(f"it has no results for {', '.join(empty)}")
    if not meta.get("conformance"):
        reasons.append("it has no conformance table: lab.all records one, lab.run and the "
                       "experiment tasks do not")
    return reasons


def answer_problems(questions: Sequence[Question], answers: Answers) -> list[str]:
    """Answers the grader will count as missing or wrong for their form alone."""
    problems = []
    unanswered = [q.id for q in questions if not q.optional and not answers.given(q)]
    if unanswered:
        problems.append(f"no answer to {', '.join(unanswered)}")
    for question in questions:
        value = answers.values.get(question.id)
        if not answers.given(question):
            continue
        if question.kind == "measured" and as_number(value, question.unit) is None:
            problems.append(f"{question.id}: {value!r} is not a number (in {question.unit})")
        elif question.kind == "choice" and as_names(value) is None:
            problems.append(f"{question.id}: {value!r} is not a list of names in quotes")
    unknown = sorted(set(answers.values) - {q.id for q in questions})
    if unknown:
        problems.append(f"answers to questions that do not exist: {', '.join(unknown)}")
    return problems


def runtime_sources(name: str) -> list[tuple[str, Path]]:
    """The files of the student's own runtime folder, for the teacher to read."""
    plain = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name)
    folder = next((d / name for d in runtime_dirs() if plain
                   and (d / name / "runtime.toml").is_file()), None)
    if folder is None:
        raise LabError(f"{ANSWERS_FILE} names the runtime '{name}', but there is no "
                       f"runtimes/{name}/runtime.toml",
                       hint="give the folder name of your runtime, or leave runtime empty")
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (path.is_symlink() or not path.is_file() or SKIPPED_FOLDERS & set(relative.parts)
                or path.stat().st_size > RUNTIME_FILE_BYTES):
            continue
        found.append((f"runtime/{name}/{relative.as_posix()}", path))
    if len(found) > RUNTIME_FILES:
        raise LabError(f"runtimes/{name} has {len(found)} files; a submission takes at most "
                       f"{RUNTIME_FILES}", hint="remove generated files from the folder")
    return found


def run_files(folder: Path) -> list[tuple[str, Path]]:
    """Everything in the results folder: run.json, tables, points, raw records, failures."""
    return [(f"results/{folder.name}/{p.relative_to(folder).as_posix()}", p)
            for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink() and not p.name.startswith(".")]


def submit(folder: Path, answers_path: Path, report: Path, out_dir: Path,
           questions: Sequence[Question], experiments: Sequence[str],
           allow_incomplete: bool = False) -> Packed:
    """Pack the run in folder into out_dir/<student>-<run_id>.tar.gz."""
    meta = json.loads((folder / "run.json").read_text())
    reasons = incomplete(meta, folder, experiments)
    if reasons and not allow_incomplete:
        raise LabError(f"run {folder.name} is not complete: " + "; ".join(reasons),
                       hint="fix that (then submit again), or submit it as it is with "
                            "--allow-incomplete (the grader will see why)")
    if not answers_path.is_file():
        raise LabError(f"no answers file at {answers_path}",
                       hint="write the template with `uv run invoke lab.submit --template`, "
                            "fill it in, then submit")
    answers = parse_answers(answers_path.read_text(), str(answers_path))
    if not answers.student_id:
        raise LabError(f"{answers_path}: student.id is empty",
                       hint="put your student number in [student] id = \"...\"")
    if not report.is_file():
        raise LabError(f"run {folder.name} has no report at {report}",
                       hint=f"write it with `uv run invoke lab.report --run-id {folder.name}`")
    files = [(ANSWERS_FILE, answers_path), *run_files(folder), ("report/index.html", report)]
    if answers.runtime:
        files += runtime_sources(answers.runtime)
    student = {"id": answers.student_id, "name": answers.student_name,
               "runtime": answers.runtime}
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", answers.student_id)
    archive = out_dir / f"{slug}-{folder.name}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="lab-submit-") as scratch:
        listing = Path(scratch) / MANIFEST
        listing.write_text(json.dumps(manifest.build(files, meta, student), indent=1,
                                      sort_keys=True) + "\n")
        pack(archive, [(MANIFEST, listing), *files])
    warnings = [f"incomplete run, submitted anyway: {r}" for r in reasons]
    warnings += answer_problems(questions, answers)
    return Packed(archive, len(files) + 1, warnings)
