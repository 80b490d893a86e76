"""lab.verify: run the conformance suite and print a pass/fail table per target."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from rich.table import Table

from lab import ROOT
from lab.console import console

CONFORMANCE_DIR = ROOT / "tests" / "conformance"


@dataclass
class Tally:
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class _Collector:
    """A pytest plugin that tallies outcomes per (backend, target)."""

    def __init__(self) -> None:
        self.tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
        self.deployments: dict[str, tuple[str, str]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            callspec = getattr(item, "callspec", None)
            if callspec and "deployment" in callspec.params:
                d = callspec.params["deployment"]
                self.deployments[item.nodeid] = (d.backend, d.target_name)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = self.deployments.get(report.nodeid)
        if key is None:
            return
        tally = self.tallies[key]
        test = report.nodeid.split("::")[-1].split("[")[0]
        if report.skipped:
            if report.when in ("setup", "call"):
                tally.skipped.append(str(report.longrepr[-1]) if report.longrepr else test)
        elif report.failed:
            tally.failed.append(f"{test} ({report.when})" if report.when != "call" else test)
        elif report.when == "call":
            tally.passed += 1


def run_conformance(targets: list[str], backend: str, smoke: bool = False,
                    ) -> dict[tuple[str, str], Tally]:
    """Run tests/conformance in this process for the given targets and concrete backend.

    smoke=True runs only the cases marked smoke (lab.all's quick profile). pytest catches
    Ctrl-C itself (and tears its fixtures, so the servers, down); it is raised again here so
    an interrupted suite never reads as a passing one.
    """
    collector = _Collector()
    args = [str(CONFORMANCE_DIR), "-q", "-p", "no:cacheprovider", "--backend", backend,
            "--rootdir", str(ROOT), *(f"--target={t}" for t in targets),
            *(["-m", "smoke"] if smoke else [])]
    if pytest.main(args, plugins=[collector]) == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt
    return dict(collector.tallies)


def as_record(tallies: dict[tuple[str, str], Tally], smoke: bool) -> dict[str, dict]:
    """Conformance per target, for run.json."""
    return {target: {"backend": backend, "suite": "smoke" if smoke else "full",
                     "passed": t.passed, "failed": t.failed, "skipped": len(t.skipped)}
            for (backend, target), t in tallies.items()}


def print_table(tallies: dict[tuple[str, str], Tally]) -> bool:
    """Print the table; True when every deployment passed every case."""
    table = Table(title="Conformance (runtimes/SPEC.md)")
    for column in ("backend", "target", "passed", "failed", "result"):
        table.add_column(column)
    ok = bool(tallies)
    for (backend, target), tally in sorted(tallies.items()):
        if tally.failed:
            shown = ", ".join(tally.failed[:3]) + (" ..." if len(tally.failed) > 3 else "")
            result = f"[red]FAIL[/red] {shown}"
        elif tally.passed == 0:
            result = f"[yellow]SKIPPED[/yellow] {tally.skipped[0] if tally.skipped else ''}"
        else:
            result = "[green]PASS[/green]"
        ok = ok and not tally.failed and tally.passed > 0
        table.add_row(backend, target, str(tally.passed), str(len(tally.failed)), result)
    console.print(table)
    return ok
