"""lab.grade: each submission unpacked safely, verified, its tables checked against its raw
records, its answers marked against its own data. Nothing from a submission is executed:
it is read as JSON, CSV and TOML, by the grader's own code."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from analysis import integrity
from analysis.load import RunData, load_run
from lab import ROOT
from lab.assignment import manifest
from lab.assignment.answers import ANSWERS_FILE, Answers, parse_answers
from lab.assignment.archive import LIMITS, Limits, Rejected, sha256_file, unpack
from lab.assignment.marking import UNGRADABLE, Analysed, Mark, Scorecards, mark
from lab.assignment.questions import Question
from lab.assignment.submit import incomplete
from lab.errors import LabError

SCHEMA_FILE = ROOT / "lab" / "run.schema.json"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
# Integrity flags: what each means, and whether it makes the numbers untrustworthy.
FLAGS = {
    "manifest": ("bad", "a file changed, appeared or vanished after lab.submit packed it"),
    "edited-table": ("bad", "a tidy table disagrees with its point files or with what its "
                            "raw records give again: the CSV was edited"),
    "schema": ("bad", "run.json does not follow lab/run.schema.json"),
    "shared-run": ("warn", "another submission holds the same run (the same run.json)"),
    "incomplete": ("warn", "the run did not finish, or lacks an experiment (submitted with "
                           "--allow-incomplete)"),
    "raw-missing": ("warn", "point files name raw records that are not in the run"),
    "raw-unreadable": ("warn", "raw records that the grader's lab cannot read again, so their "
                               "summaries are not checked (edited, or from another version)"),
    "modified-lab": ("warn", "the lab had uncommitted changes when the run was measured"),
    "answers": ("warn", "the answers file could not be read"),
}


class Gradable(Analysed, Protocol):
    """What grading needs of an experiment (lab.experiments.framework.Experiment has it)."""

    def recompute(self, run: Any) -> list[integrity.Recomputed]: ...


@dataclass
class Graded:
    """One submission, graded (or rejected, with the reason)."""

    archive: Path
    student_id: str = ""
    student_name: str = ""
    run_id: str = ""
    machine: str = ""
    backend: str = ""
    profile: str = ""
    rejected: str = ""
    flags: dict[str, list[str]] = field(default_factory=dict)
    marks: dict[str, Mark] = field(default_factory=dict)
    measured: dict[str, float] = field(default_factory=dict)  # question -> own data's value
    runtime: str = ""
    runtime_conformance: dict[str, dict] = field(default_factory=dict)
    runtime_files: int = 0
    run_sha256: str = ""

    def flag(self, name: str, problems: Sequence[str]) -> None:
        if problems:
            self.flags.setdefault(name, []).extend(problems)

    @property
    def trusted(self) -> bool:
        return not self.rejected and not any(FLAGS[f][0] == "bad" for f in self.flags)

    def score(self, questions: Sequence[Question]) -> tuple[float, float]:
        """Points scored and possible; a question the run has no data for counts neither."""
        graded = [q for q in questions if q.graded and not q.optional and q.id in self.marks
                  and self.marks[q.id].status != UNGRADABLE]
        return sum(self.marks[q.id].score for q in graded), sum(q.points for q in graded)


def archives(paths: Sequence[Path]) -> list[Path]:
    """The archives named: files as given, folders' *.tar.gz and *.tgz files."""
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir()
                            if p.is_file() and p.name.endswith(ARCHIVE_SUFFIXES))
        elif path.exists():
            found.append(path)
        else:
            raise LabError(f"{path} does not exist",
                           hint="give submission archives, or folders of them")
    if not found:
        raise LabError(f"no submissions (*.tar.gz) in {', '.join(map(str, paths))}")
    return found


def _schema_problems(meta: dict) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    return [f"run.json {'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in sorted(validator.iter_errors(meta), key=lambda e: list(e.absolute_path))
            ][:10]


def _table(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _machine(meta: dict) -> str:
    machine = _table(meta.get("machine"))
    memory = machine.get("memory_bytes")
    memory_text = f", {memory / 2**30:.0f} GiB" if isinstance(memory, int | float) else ""
    return (f"{machine.get('cpu_model') or 'unknown CPU'}, {machine.get('cores', '?')} cores"
            f"{memory_text}, kernel {machine.get('kernel', '?')}")


def _integrity(graded: Graded, run: RunData, experiments: Sequence[Gradable]) -> None:
    for experiment in experiments:
        table = run.table(experiment.name)
        if table.empty and not (run.path / experiment.name).exists():
            continue
        graded.flag("edited-table", integrity.against_points(experiment.name, run.path, table))
        graded.flag("raw-missing", integrity.missing_raw(experiment.name, run.path))
        try:
            again = experiment.recompute(run)
        except (LabError, KeyError, ValueError, TypeError) as exc:
            graded.flag("edited-table", [f"{experiment.name}: its raw records cannot be read "
                                         f"again ({type(exc).__name__}: {exc})"])
            continue
        graded.flag("edited-table", integrity.against_raw(experiment.name, table, again))
        graded.flag("raw-unreadable", integrity.unreadable(again))


def _run_folder(folder: Path) -> Path:
    runs = [p.parent for p in (folder / "results").glob("*/run.json")]
    if len(runs) != 1:
        raise Rejected(f"it holds {len(runs)} results folders; lab.submit packs exactly one")
    return runs[0]


def _answers(graded: Graded, folder: Path) -> Answers:
    try:
        return parse_answers((folder / ANSWERS_FILE).read_text(errors="replace"))
    except (OSError, LabError) as exc:
        graded.flag("answers", [str(exc).splitlines()[0]])
        return Answers("", "")


def grade_folder(graded: Graded, folder: Path, questions: Sequence[Question],
                 experiments: Sequence[Gradable], planned: Sequence[str]) -> None:
    """Grade an unpacked submission in folder (Rejected: it cannot be graded at all)."""
    listing, problems = manifest.read(folder)
    graded.flag("manifest", problems)
    student = listing.get("student") or {}
    answers = _answers(graded, folder)
    graded.student_id = answers.student_id or str(student.get("id") or "")
    graded.student_name = answers.student_name or str(student.get("name") or "")
    results = _run_folder(folder)
    try:
        meta = json.loads((results / "run.json").read_text())
    except ValueError:
        raise Rejected("its run.json is not JSON") from None
    if not isinstance(meta, dict):
        raise Rejected("its run.json is not a JSON object")
    graded.run_sha256 = sha256_file(results / "run.json")
    graded.run_id, graded.machine = str(meta.get("run_id", results.name)), _machine(meta)
    graded.backend = str(_table(meta.get("backend")).get("backend", ""))
    graded.profile = str(meta.get("profile", ""))
    graded.flag("schema", _schema_problems(meta))
    try:
        run = load_run(results)
    except LabError as exc:
        raise Rejected(str(exc).splitlines()[0]) from None
    graded.flag("incomplete", incomplete(meta, results, planned))
    if (git := _table(meta.get("git"))).get("dirty"):
        graded.flag("modified-lab", [f"measured at commit {str(git.get('commit'))[:12]} "
                                     "with changes"])
    _integrity(graded, run, experiments)
    scorecards = Scorecards(run, experiments)
    for question in questions:
        graded.marks[question.id], value = mark(question, answers, run, scorecards)
        if value is not None:
            graded.measured[question.id] = value
    graded.runtime = answers.runtime
    if answers.runtime:
        conformance = _table(meta.get("conformance"))
        graded.runtime_conformance = {
            target: record for target, record in sorted(conformance.items())
            if target.partition("/")[0] == answers.runtime and isinstance(record, dict)}
        graded.runtime_files = sum(1 for p in (folder / "runtime").rglob("*") if p.is_file())


def grade(archive: Path, questions: Sequence[Question], experiments: Sequence[Gradable],
          planned: Sequence[str], limits: Limits = LIMITS) -> Graded:
    """One archive, graded; never raises for what is wrong with the archive."""
    graded = Graded(archive)
    with tempfile.TemporaryDirectory(prefix="lab-grade-") as scratch:
        try:
            unpack(archive, Path(scratch), limits)
            grade_folder(graded, Path(scratch), questions, experiments, planned)
        except Rejected as exc:
            graded.rejected = str(exc)
        except Exception as exc:  # data no lab wrote may break any reader: fail it, not the class
            graded.rejected = (f"the grader could not read it ({type(exc).__name__}: "
                               f"{str(exc)[:300]})")
    return graded


def shared_runs(graded: Sequence[Graded]) -> None:
    """Flag submissions that hold the same run (the same run.json) as another."""
    counts = Counter(g.run_sha256 for g in graded if g.run_sha256)
    for each in graded:
        if counts[each.run_sha256] > 1:
            others = [g.student_id or g.archive.name for g in graded
                      if g.run_sha256 == each.run_sha256 and g is not each]
            each.flag("shared-run", [f"the same run.json as {', '.join(others)}"])
