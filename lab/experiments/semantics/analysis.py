"""The semantics experiment's part of the report: a table per probe (its code, expected
and observed traces, outcome and lesson), findings that explain every surprise, and the
scorecard column (the share of each runtime's probes that behaved as expected)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from analysis.content import Finding, ScoreCell, ScoreColumn, Section
from analysis.load import RunData
from analysis.tables import Cell, Table, text
from lab.experiments.semantics.verdict import AS_EXPECTED, NOT_APPLICABLE, UNEXPECTED

NAME = "semantics"
LEVEL = {AS_EXPECTED: "good", UNEXPECTED: "bad", NOT_APPLICABLE: "info"}
LEGEND = {"good": "every probe that applies printed its expected trace and ended as "
                  "expected (exited, or hung until its deadline where that is the lesson)",
          "mixed": "some probes did not (hover for which)", "bad": "no probe did",
          "info": "no probe applies here", "none": "the runtime has no probes"}


@dataclass(frozen=True)
class ProbeRun:
    """One run of one probe, as its point file recorded it."""

    runtime: str
    language: str
    repetition: int
    order: int
    probe: dict
    verdict: str
    explanation: str
    observed: tuple[str, ...]
    exit_status: int | None
    deadline_fired: bool
    wall_s: float

    @property
    def name(self) -> str:
        return f"{self.runtime}/{self.probe['id']}"

    @property
    def outcome(self) -> str:
        if self.deadline_fired:
            return f"killed by its {self.probe['deadline_s']:g} s deadline"
        return f"exited with status {self.exit_status} after {self.wall_s:.2f} s"


def probe_runs(run: RunData) -> list[ProbeRun]:
    """Every probe run of the run, by runtime, declaration order and repetition."""
    found = []
    for _, point in run.point_records(NAME):
        info, rows = point.get("info") or {}, point.get("rows") or [{}]
        if "probe" not in info:
            continue  # a runtime without probes
        found.append(ProbeRun(
            str(rows[0].get("runtime")), str(info["language"]), int(rows[0].get("repetition", 0)),
            int(info.get("order", 0)), info["probe"], str(info["verdict"]),
            str(info["explanation"]), tuple(info["observed"]), info.get("exit_status"),
            bool(info["deadline_fired"]), float(info["wall_s"])))
    return sorted(found, key=lambda r: (r.runtime, r.order, r.repetition))


def without_probes(run: RunData) -> list[str]:
    frame = run.table(NAME)
    if frame.empty or "metric" not in frame.columns:
        return []
    return sorted(set(frame.loc[frame["metric"] == "probes_declared", "runtime"].astype(str)))


def _by(runs: Iterable[ProbeRun], key: Callable[[ProbeRun], str]) -> dict[str, list[ProbeRun]]:
    groups: dict[str, list[ProbeRun]] = {}
    for each in runs:
        groups.setdefault(key(each), []).append(each)
    return groups


def _tally(runs: list[ProbeRun]) -> tuple[int, int]:
    """(as expected, applicable) over runs."""
    applicable = [r for r in runs if r.verdict != NOT_APPLICABLE]
    return sum(r.verdict == AS_EXPECTED for r in applicable), len(applicable)


def _summary(runs: list[ProbeRun]) -> str:
    verdicts = {r.verdict for r in runs}
    if len(verdicts) == 1:
        return runs[0].verdict
    good, applicable = _tally(runs)
    return f"{AS_EXPECTED} in {good} of {applicable} runs"


def _lines(lines: Iterable[str]) -> str:
    return "\n".join(lines) or "(nothing)"


def overview_table(groups: dict[str, list[ProbeRun]]) -> Table:
    table = Table("Every probe: its lesson and what it did", [
        "runtime", "language", "probe", "lesson", "expected outcome", "verdict", "why"],
        [False] * 7)
    for runs in groups.values():
        first = next((r for r in runs if r.verdict == UNEXPECTED), runs[0])
        expected = (f"hangs until its {first.probe['deadline_s']:g} s deadline"
                    if first.probe["outcome"] == "deadline" else "exits 0")
        summary = _summary(runs)
        table.rows.append([
            text(first.runtime), text(first.language), text(first.probe["id"]),
            text(first.probe["lesson"]), text(expected),
            Cell(summary, summary, f"level-{LEVEL.get(first.verdict, 'none')}"),
            text(first.explanation)])
    return table


def probe_table(runs: list[ProbeRun]) -> Table:
    """The probe's code beside its expected and observed traces; the rest in the caption."""
    first = runs[0]
    env = " ".join(f"{k}={v}" for k, v in first.probe["env"].items())
    command = " ".join([*([env] if env else []), *first.probe["command"]])
    repeated = len(runs) > 1
    table = Table(
        f"{first.name} ({first.language}): {_summary(runs)}. Lesson: {first.probe['lesson']}",
        [*(["repetition"] if repeated else []), "code", "expected trace", "observed trace",
         "outcome"], [repeated, False, False, False, False],
        note=f"{first.probe['source']}, run as `{command}` with a "
             f"{first.probe['deadline_s']:g} s deadline.")
    expected = _lines(first.probe["expected"])
    for each in runs:
        level = {UNEXPECTED: "bad", NOT_APPLICABLE: "info"}.get(each.verdict, "")
        observed = _lines(each.observed)
        table.rows.append([
            *([Cell(str(each.repetition), each.repetition)] if repeated else []),
            Cell(first.probe["excerpt"], first.probe["id"], "code"),
            Cell(expected, expected, "trace"),
            Cell(observed, observed, f"trace level-{level}" if level else "trace"),
            text(f"{each.outcome}: {each.verdict}" + (
                f" ({each.explanation})" if each.verdict != AS_EXPECTED else ""))])
    return table


def findings(groups: dict[str, list[ProbeRun]], skipped: list[str],
             backend: str) -> list[Finding]:
    found = []
    every = [each for runs in groups.values() for each in runs]
    for runtime, runs in _by(every, lambda r: r.runtime).items():
        good, applicable = _tally(runs)
        na = len(runs) - applicable
        found.append(Finding(NAME, (
            f"{runs[0].language} (runtime {runtime}, {backend} backend): {good} of "
            f"{applicable} probe runs behaved as expected"
            + (f"; {na} did not apply here" if na else "") + "."),
            values={"as_expected": good, "applicable": applicable, "not_applicable": na},
            headline=True))
    for name, runs in groups.items():
        for each in runs:
            where = f" (repetition {each.repetition})" if len(runs) > 1 else ""
            if each.verdict == UNEXPECTED:
                found.append(Finding(NAME, (
                    f"{name}{where} did not behave as its lesson says: {each.explanation}. "
                    f"The lesson: {each.probe['lesson']}"), "flag"))
            elif each.verdict == NOT_APPLICABLE:
                found.append(Finding(NAME, f"{name}{where} does not apply here: "
                                     f"{each.explanation}", "note"))
            elif each.probe["outcome"] == "deadline":
                found.append(Finding(NAME, (
                    f"{name}{where} hangs by design, and its deadline detected it: "
                    f"{each.explanation}. The lesson: {each.probe['lesson']}"), values={
                        "deadline_s": each.probe["deadline_s"], "lines": len(each.observed)}))
    if skipped:
        found.append(Finding(NAME, (
            f"No probes for {', '.join(skipped)}: skipped (a runtime adds probes in its "
            "folder, probes/probes.toml)."), "note"))
    return found


def section(run: RunData, palette: dict, base: Section) -> Section:
    groups = _by(probe_runs(run), lambda r: r.name)
    backend = str((run.meta.get("backend") or {}).get("backend", "unknown backend"))
    base.findings = findings(groups, without_probes(run), backend)
    if groups:
        base.tables = [overview_table(groups), *(probe_table(r) for r in groups.values())]
    base.method.append(
        "A probe behaves as expected when its standard output, without blank lines, is "
        "exactly the declared trace and it ended as declared: exited 0, or was still "
        "running when its deadline killed it. Mismatched traces are highlighted.")
    return base


def scorecard(run: RunData) -> list[ScoreColumn]:
    column = ScoreColumn(NAME, "probes as expected", LEGEND)
    cells = {runtime: ScoreCell("no probes", "none", -1.0, "no probes/probes.toml")
             for runtime in without_probes(run)}
    for runtime, runs in _by(probe_runs(run), lambda r: r.runtime).items():
        good, applicable = _tally(runs)
        if not applicable:
            cells[runtime] = ScoreCell("n/a", "info", "", "no probe applied here")
            continue
        level = "good" if good == applicable else "bad" if good == 0 else "mixed"
        odd = sorted({r.probe["id"] for r in runs if r.verdict == UNEXPECTED})
        detail = (f"unexpected: {', '.join(odd)}" if odd else "every applicable probe "
                  "behaved as expected")
        cells[runtime] = ScoreCell(f"{good}/{applicable}", level, good / applicable, detail)
    for target in run.target_names:
        runtime = target.partition("/")[0]
        if runtime in cells:
            column.cells[target] = cells[runtime]
    return [column]
