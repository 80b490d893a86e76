"""lab.all: build -> verify -> every experiment -> report; a failing target never stops the rest."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from lab.backends import Backend
from lab.build import build_targets
from lab.console import console
from lab.experiments import registry
from lab.measure import measure, plan
from lab.results import open_run
from lab.targets import Target
from lab.verify import as_record, print_table, run_conformance


def _stage(number: int, title: str) -> None:
    console.rule(f"[bold][{number}/4] {title}")


def run_all(targets: Sequence[Target], backend: Backend, profile: str,
            resume: str | None = None, force_mixed: bool = False) -> tuple[str, Path | None]:
    """The whole lab on one backend; the run id and the report's path."""
    started = time.monotonic()
    names = list(registry())
    plan(names, profile)
    if resume is not None:
        open_run(resume)
    _stage(1, f"build ({backend.name})")
    _, failed = build_targets(backend, list(targets), loadgen=True)
    broken = {f.runtime for f in failed}
    buildable = [t for t in targets if t.runtime.name not in broken]

    smoke = profile == "quick"
    _stage(2, "verify against the contract" + (" (smoke cases)" if smoke else ""))
    tallies = run_conformance([t.name for t in buildable], backend.name, smoke=smoke) \
        if buildable else {}
    print_table(tallies)

    _stage(3, f"experiments ({profile}: {', '.join(names)})")
    run = measure(names, profile, targets, backend, resume=resume, failed_builds=failed,
                  extra_meta={"conformance": as_record(tallies, smoke)},
                  force_mixed=force_mixed)

    _stage(4, "report")
    report = write_report(run.run_id)
    console.print(f"lab.all finished in {time.monotonic() - started:.0f} s")
    return run.run_id, report


def write_report(run_id: str) -> Path:
    """The HTML report of a run, analysed by every registered experiment."""
    from analysis.report import write_report as write

    return write(run_id, list(registry().values()))
