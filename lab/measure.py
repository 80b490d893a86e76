"""Running experiments into a results folder: create or resume a run, record what ran."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lab.backends import Backend
from lab.build import BuildFailure, build_targets
from lab.console import console
from lab.errors import LabError
from lab.experiments import experiment
from lab.experiments.framework import Experiment, run_experiment, spec_of
from lab.results import Run, create_run, now_iso, open_run
from lab.targets import Target


def plan(experiment_names: Sequence[str], profile: str) -> list[Experiment]:
    """The experiments to run, checked before anything is built or written."""
    chosen = [experiment(name) for name in experiment_names]
    for each in chosen:
        spec_of(each, profile)
    return chosen


def start_or_resume(resume: str | None, backend: Backend, profile: str,
                    experiments: Sequence[str], targets: Sequence[Target]) -> Run:
    if resume is None:
        return create_run(sys.argv, backend=backend.describe(), profile=profile,
                          experiments=list(experiments),
                          targets={t.name: {"facts": t.facts()} for t in targets},
                          cpus=backend.cpus.as_record())
    run = open_run(resume)
    meta = run.meta()
    for field, wanted in (("profile", profile), ("backend", backend.name)):
        recorded = meta[field]["backend"] if field == "backend" else meta[field]
        if recorded != wanted:
            raise LabError(f"run {run.run_id} was made with {field} '{recorded}', not '{wanted}'",
                           hint=f"resume it with the same options (--{field} {recorded})")
    run.update_meta(status="running", resumed=[*meta.get("resumed", []), now_iso()])
    console.print(f"resuming run {run.run_id}")
    return run


def measure(experiment_names: Sequence[str], profile: str, targets: Sequence[Target],
            backend: Backend, resume: str | None = None,
            failed_builds: list[BuildFailure] | None = None,
            extra_meta: dict | None = None) -> Run:
    """Run each experiment over targets; failures are recorded, not fatal.

    Builds first unless the caller already did (failed_builds: what did not build).
    """
    experiments = plan(experiment_names, profile)
    if resume is not None:
        open_run(resume)  # a run that does not exist stops us before any build
    if failed_builds is None:
        _, failed_builds = build_targets(backend, list(targets), loadgen=True)
    if any(f.runtime == "loadgen" for f in failed_builds):
        raise LabError("the load generator did not build; nothing can be measured")
    broken = {f.runtime: f.error for f in failed_builds}
    run = start_or_resume(resume, backend, profile, experiment_names, targets)
    backend.run_id = run.run_id
    if extra_meta:
        run.update_meta(**extra_meta)
    console.print(f"run [bold]{run.run_id}[/bold] -> {run.folder}")
    meta_targets = run.meta().get("targets", {})
    for target in targets:
        if target.runtime.name in broken:
            meta_targets.setdefault(target.name, {})["failed"] = (
                f"build failed: {broken[target.runtime.name]}")
    buildable = [t for t in targets if t.runtime.name not in broken]
    status = "interrupted"
    try:
        for each in experiments:
            outcome = run_experiment(each, profile, buildable, backend, run)
            for target_name, info in outcome.target_info.items():
                meta_targets.setdefault(target_name, {}).update(info)
            console.print(f"{each.name}: {outcome.measured} measured, {outcome.resumed} kept "
                          f"from before, {outcome.failed} failed")
        status = "complete"
    finally:
        for each in experiments:
            if (run.folder / each.name / "points").exists():
                run.write_table(each.name)
        run.update_meta(status=status, ended=now_iso(), targets=meta_targets,
                        backend=backend.describe())
        backend.close()
    return run
