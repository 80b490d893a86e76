"""The experiments: one module each, each exporting EXPERIMENT (see framework.Experiment)."""

from __future__ import annotations

import importlib
import pkgutil

from lab.experiments.framework import Experiment


def registry() -> dict[str, Experiment]:
    """Every module of this package that defines EXPERIMENT, by experiment name, in DESIGN order."""
    found: dict[str, Experiment] = {}
    for module in pkgutil.iter_modules(__path__):
        experiment = getattr(importlib.import_module(f"{__name__}.{module.name}"),
                             "EXPERIMENT", None)
        if experiment is not None:
            found[experiment.name] = experiment
    order = ["sweep", "blocking", "threadpool", "parallel", "semantics", "readiness"]
    return dict(sorted(found.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order
                                                       else len(order), kv[0])))
