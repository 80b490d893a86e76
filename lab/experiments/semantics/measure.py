"""Semantics measurement: run each probe of each runtime with its deadline, on the run's
backend (natively from the runtime folder, or in the runtime's image), and judge it.

One session per runtime (its first selected target stands for it: probes belong to the
runtime, not to a model) and one point per probe. No server runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lab.backends import Backend, ProgramRun
from lab.errors import LabError
from lab.experiments.framework import Context, Point, Session, interleave
from lab.experiments.semantics.probes import PROBES_FILE, Probe, ProbeSet, load_probes
from lab.experiments.semantics.verdict import Verdict, judge
from lab.targets import Runtime, Target

NO_PROBES = "none"        # the one point of a runtime without probes: says so in results
INVALID = "invalid"       # the one point of a runtime whose probes file is malformed


@dataclass(frozen=True)
class SemanticsSpec:
    repetitions: int


# Every profile runs every probe: they take seconds. The full profile repeats them, to
# show that their traces do not depend on scheduling noise.
PROFILES = {"quick": SemanticsSpec(1), "standard": SemanticsSpec(1), "full": SemanticsSpec(3)}


def _points(runtime: Runtime) -> list[Point]:
    try:
        probes = load_probes(runtime.folder)
    except LabError:
        return [Point.of(probe=INVALID)]  # measure() raises it again: recorded as failed
    return [Point.of(probe=p.id) for p in probes.probes] if probes else [Point.of(probe=NO_PROBES)]


def sessions(spec: SemanticsSpec, targets: Sequence[Target]) -> list[Session]:
    first: dict[str, Target] = {}
    for target in targets:
        first.setdefault(target.runtime.name, target)
    return [Session.of(target, {}, rep, _points(target.runtime))
            for rep, target in interleave(list(first.values()), spec.repetitions)]


def run_probe(backend: Backend, runtime: Runtime, probe: Probe) -> tuple[ProgramRun, Verdict]:
    run = backend.run_program(runtime, probe.command, env=probe.env, timeout=probe.deadline_s)
    return run, judge(probe, run)


def measure(ctx: Context, point: Point) -> None:
    runtime = ctx.session.target.runtime
    probes: ProbeSet | None = load_probes(runtime.folder)
    if probes is None:
        ctx.row(point, "probes_declared", 0, "probes", language="")
        ctx.info["note"] = f"{runtime.name} has no {PROBES_FILE}: skipped"
        return
    probe = probes.get(str(point.as_dict()["probe"]))
    run, verdict = run_probe(ctx.backend, runtime, probe)
    ctx.info.update(
        language=probes.language, probe=probe.record(runtime.folder),
        order=probes.probes.index(probe), verdict=verdict.verdict,
        explanation=verdict.explanation, observed=list(verdict.observed),
        exit_status=run.returncode, deadline_fired=run.timed_out, wall_s=run.wall_seconds,
        raw=ctx.raw(point, "output.txt",
                    f"--- stdout ---\n{run.stdout}\n--- stderr ---\n{run.stderr}"))

    def row(metric: str, value: float | None, unit: str) -> None:
        ctx.row(point, metric, value, unit, language=probes.language)

    row("as_expected", verdict.as_expected, "1 = yes")
    row("deadline_fired", float(run.timed_out), "1 = yes")
    row("exit_status", run.returncode, "status")
    row("wall_s", run.wall_seconds, "s")
