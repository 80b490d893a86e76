"""The layering DESIGN.md asks for, checked on the import statements of every module:
tasks -> pipeline -> experiments -> shared layers (analysis, backends, load generators,
results); nothing imports upward, and no experiment imports another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lab import ROOT

# The shared bottom of the orchestrator that analysis/ may use: where results live.
RESULTS_LAYER = {"lab", "lab.results", "lab.errors"}
UPPER = ("lab.pipeline", "lab.measure", "lab.experiments", "tasks")


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def modules(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "tests" not in p.parts)


def _ours(name: str) -> bool:
    return name.split(".")[0] in ("lab", "analysis", "tasks")


@pytest.mark.parametrize("path", modules("analysis"), ids=lambda p: p.name)
def test_analysis_uses_only_itself_and_the_results_layer(path: Path) -> None:
    outside = {m for m in imports(path) if _ours(m) and not m.startswith("analysis")}
    modules_of_lab = {m for m in outside if m in RESULTS_LAYER or m.rsplit(".", 1)[0]
                      in RESULTS_LAYER}
    assert outside <= modules_of_lab, f"{path.name} imports {sorted(outside - modules_of_lab)}"


SHARED = [p for p in modules("lab") if "experiments" not in p.parts
          and p.name not in ("pipeline.py", "measure.py")]


@pytest.mark.parametrize("path", SHARED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shared_layers_never_import_upward(path: Path) -> None:
    upward = {m for m in imports(path) if m.startswith(UPPER)}
    assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)}"


EXPERIMENT_MODULES = [p for p in modules("lab/experiments")]


@pytest.mark.parametrize("path", EXPERIMENT_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_an_experiment_imports_no_other_experiment(path: Path) -> None:
    relative = path.relative_to(ROOT / "lab" / "experiments").parts
    own = relative[0] if len(relative) > 1 else None
    others = {m for m in imports(path) if m.startswith("lab.experiments.")
              and m.split(".")[2] not in ("framework", own)}
    assert not others, f"{path.relative_to(ROOT)} imports {sorted(others)}"
    assert not {m for m in imports(path) if m.startswith(("lab.pipeline", "lab.measure",
                                                           "tasks"))}
