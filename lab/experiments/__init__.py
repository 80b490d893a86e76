"""The experiments: one package each under this folder (or under a folder named in
LAB_EXPERIMENTS_PATH, os.pathsep-separated), each exporting EXPERIMENT, an instance of
framework.Experiment. Nothing outside an experiment's package names it (EXPERIMENTS.md).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from functools import cache
from pathlib import Path

from lab.errors import LabError
from lab.experiments.framework import Experiment


def _extra_packages() -> list[tuple[str, Path]]:
    found = []
    for folder in (Path(p) for p in os.environ.get("LAB_EXPERIMENTS_PATH", "").split(os.pathsep)
                   if p):
        found += [(m.name, folder / m.name) for m in pkgutil.iter_modules([str(folder)])]
    return found


def _load_extra(name: str, path: Path):
    module_name = f"lab_extra_experiments.{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    init = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    spec = importlib.util.spec_from_file_location(
        module_name, init, submodule_search_locations=[str(path)] if path.is_dir() else None)
    if spec is None or spec.loader is None:
        raise LabError(f"cannot load the experiment at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@cache
def registry() -> dict[str, Experiment]:
    """Every experiment package, by name, in the order of Experiment.order."""
    modules = [importlib.import_module(f"{__name__}.{m.name}")
               for m in pkgutil.iter_modules(__path__) if m.ispkg]
    modules += [_load_extra(name, path) for name, path in _extra_packages()]
    found: dict[str, Experiment] = {}
    for module in modules:
        experiment = getattr(module, "EXPERIMENT", None)
        if isinstance(experiment, Experiment):
            if experiment.name in found:
                raise LabError(f"two experiments are called '{experiment.name}'")
            found[experiment.name] = experiment
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def experiment(name: str) -> Experiment:
    """One experiment by name; LabError listing the known ones otherwise."""
    known = registry()
    if name not in known:
        raise LabError(f"unknown experiment '{name}'", hint=f"known: {', '.join(known)}")
    return known[name]
