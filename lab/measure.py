"""Running experiments into a results folder: create or resume a run, record what ran.

A run records where it came from (lab.provenance: code, specs, images) and what the
machine was like (lab.noise.environment); --resume refuses to add points measured by
other code, specs or images unless told --force-mixed, which the run then records under
'mixed'. The orchestrator runs pinned to the load CPUs, and each run calibrates the load
generators once (lab.generator) before measuring.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lab import IMAGE_NAMESPACE, provenance
from lab.backends import Backend
from lab.build import BuildFailure, build_targets
from lab.console import console, warn
from lab.errors import LabError
from lab.experiments import experiment
from lab.experiments.framework import Experiment, run_experiment, spec_of
from lab.generator import calibrate
from lab.loadgen import closed_loop_tool
from lab.noise import environment, pinned
from lab.results import Run, create_run, now_iso, open_run
from lab.targets import Target


def plan(experiment_names: Sequence[str], profile: str) -> list[Experiment]:
    """The experiments to run, checked before anything is built or written."""
    chosen = [experiment(name) for name in experiment_names]
    for each in chosen:
        spec_of(each, profile)
    return chosen


def current_provenance(experiments: Sequence[Experiment], profile: str,
                       targets: Sequence[Target], backend: Backend) -> dict[str, object]:
    """run.json's provenance keys as they would be now: git, specs, images_used and
    images_fingerprint."""
    images = [*{t.runtime.image_name for t in targets}, f"{IMAGE_NAMESPACE}/loadgen"]
    described = backend.describe()
    return {"git": provenance.code(),
            "specs": {e.name: provenance.spec_record(spec_of(e, profile)) for e in experiments},
            "images_used": provenance.images_used(described, images),
            "images_fingerprint": provenance.images_fingerprint(described, images)}


def start_or_resume(resume: str | None, backend: Backend, profile: str,
                    experiments: Sequence[Experiment], targets: Sequence[Target],
                    force_mixed: bool = False) -> Run:
    now = current_provenance(experiments, profile, targets, backend)
    if resume is None:
        tool = closed_loop_tool(backend)
        if tool != "wrk":
            console.print("[yellow]wrk is not installed: the pacer's closed-loop mode measures "
                          "closed-loop goodput instead (run.json says so)[/yellow]")
        return create_run(sys.argv, backend=backend.describe(), profile=profile,
                          experiments=[e.name for e in experiments],
                          load_generators={"closed_loop": tool, "open_loop": "pacer"},
                          targets={t.name: {"facts": t.facts()} for t in targets},
                          cpus=backend.cpus.as_record(), **now,
                          noise=environment(backend.cpus, getattr(backend, "client", None)))
    run = open_run(resume)
    meta = run.meta()
    for field, wanted in (("profile", profile), ("backend", backend.name)):
        recorded = meta[field]["backend"] if field == "backend" else meta[field]
        if recorded != wanted:
            raise LabError(f"run {run.run_id} was made with {field} '{recorded}', not '{wanted}'",
                           hint=f"resume it with the same options (--{field} {recorded})")
    differences = (provenance.differences(meta, now, [e.name for e in experiments])
                   + provenance.engine_differences(meta["backend"], backend.describe()))
    if differences and not force_mixed:
        raise LabError(
            f"run {run.run_id} was measured with other code, specs or images than now: "
            + "; ".join(differences),
            hint="start a new run, or add --force-mixed to finish this one anyway (it is then "
                 "recorded and reported as mixed)")
    changes: dict[str, object] = {"status": "running",
                                  "resumed": [*meta.get("resumed", []), now_iso()]}
    if differences:
        warn(f"run {run.run_id} becomes mixed: " + "; ".join(differences))
        changes["mixed"] = [*meta.get("mixed", []), {"at": now_iso(),
                                                     "differences": differences}]
    run.update_meta(**changes)
    console.print(f"resuming run {run.run_id}")
    return run


def calibrate_generators(run: Run, backend: Backend, targets: Sequence[Target]) -> None:
    """Once per run: each load generator's ceiling, against the run's first target."""
    if run.meta().get("calibration") or not targets:
        return
    responder = targets[0]
    with console.status(f"calibrating the load generators against {responder}"):
        try:
            found = calibrate(backend, responder)
        except LabError as exc:
            warn(f"calibrating the load generators failed ({exc.message}): no point can be "
                 "flagged generator-bound in this run")
            run.update_meta(calibration={"error": exc.message, "responder": responder.name})
            return
    run.update_meta(calibration={tool: c.as_record() for tool, c in found.items()})
    for c in found.values():
        console.print(f"[dim]{c.tool}: ceiling {c.ceiling_rps:,.0f} req/s ({c.method})[/dim]")


def measure(experiment_names: Sequence[str], profile: str, targets: Sequence[Target],
            backend: Backend, resume: str | None = None,
            failed_builds: list[BuildFailure] | None = None,
            extra_meta: dict | None = None, force_mixed: bool = False) -> Run:
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
    buildable = [t for t in targets if t.runtime.name not in broken]
    run = start_or_resume(resume, backend, profile, experiments, targets, force_mixed)
    backend.run_id = run.run_id
    if extra_meta:
        run.update_meta(**extra_meta)
    console.print(f"run [bold]{run.run_id}[/bold] -> {run.folder}")
    meta_targets = run.meta().get("targets", {})
    for target in targets:
        if target.runtime.name in broken:
            meta_targets.setdefault(target.name, {})["failed"] = (
                f"build failed: {broken[target.runtime.name]}")
    status = "interrupted"
    try:
        with pinned(backend.cpus.load):  # measuring only: native builds keep every CPU
            calibrate_generators(run, backend, buildable)
            for each in experiments:
                outcome = run_experiment(each, profile, buildable, backend, run)
                for target_name, info in outcome.target_info.items():
                    meta_targets.setdefault(target_name, {}).update(info)
                console.print(f"{each.name}: {outcome.measured} measured, {outcome.resumed} "
                              f"kept from before, {outcome.failed} failed")
        status = "complete"
    finally:
        for each in experiments:
            if (run.folder / each.name / "points").exists():
                run.write_table(each.name)
        run.update_meta(status=status, ended=now_iso(), targets=meta_targets,
                        backend=backend.describe())
        backend.close()
    return run
