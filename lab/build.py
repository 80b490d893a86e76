"""Building targets on a backend, runtime by runtime, with progress; failures are collected."""

from __future__ import annotations

from dataclasses import dataclass

from lab.backends import Backend, BuildOutcome
from lab.console import console
from lab.errors import LabError
from lab.targets import Runtime, Target


@dataclass(frozen=True)
class BuildFailure:
    runtime: str
    error: LabError


def runtimes_of(targets: list[Target]) -> list[Runtime]:
    seen: dict[str, Runtime] = {}
    for target in targets:
        seen.setdefault(target.runtime.name, target.runtime)
    return list(seen.values())


def build_targets(backend: Backend, targets: list[Target], *, force: bool = False,
                  loadgen: bool = False) -> tuple[list[BuildOutcome], list[BuildFailure]]:
    """Build the runtimes of targets (and the load generator); a failure does not stop the rest."""
    steps: list[tuple[str, object]] = [(r.name, r) for r in runtimes_of(targets)]
    if loadgen:
        steps.append(("loadgen", None))
    built: list[BuildOutcome] = []
    failed: list[BuildFailure] = []
    for index, (name, runtime) in enumerate(steps, 1):
        with console.status(f"[{index}/{len(steps)}] building {name} ({backend.name})"):
            try:
                outcome = (backend.build_loadgen(force=force) if runtime is None
                           else backend.build(runtime, force=force))
            except LabError as exc:
                failed.append(BuildFailure(name, exc))
                console.print(f"[red]x[/red] {name}: build failed\n{exc}")
                continue
        built.append(outcome)
        state = "up to date" if outcome.cached else f"built in {outcome.seconds:.1f} s"
        state += f" ({outcome.detail})" if outcome.detail else ""
        console.print(f"[green]v[/green] {name}: {state}")
    return built, failed
