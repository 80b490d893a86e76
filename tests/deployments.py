"""Deployments under test: every selected target on every selected backend.

A backend that cannot run here is skipped with its reason, unless the environment
requires it (LAB_REQUIRE_DOCKER=1, LAB_REQUIRE_NATIVE=1, both set by .ci/run): then its
tests fail, so that CI never passes by skipping.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

import pytest

from lab.backends import Backend
from lab.backends.native import toolchain_problem
from lab.backends.selection import docker_engine_status, make_backend
from lab.targets import Target, discover, select


def required(flag: str) -> bool:
    return os.environ.get(flag, "") == "1"


@dataclass(frozen=True)
class Deployment:
    backend: str
    target_name: str

    @property
    def id(self) -> str:
        return f"{self.backend}-{self.target_name}"


@cache
def backend_for(name: str) -> Backend:
    return make_backend(name)[0]


@cache
def _built(backend: str, runtime: str) -> None:
    """Build a runtime once per test session and backend (the backends cache builds too)."""
    target = next(t for t in discover() if t.runtime.name == runtime)
    backend_for(backend).build(target.runtime)


def ensure_built(deployment: Deployment) -> Target:
    target = select(deployment.target_name)[0]
    _built(deployment.backend, target.runtime.name)
    return target


@cache
def _native_skip_reason(runtime: str) -> str | None:
    return toolchain_problem(next(t.runtime for t in discover() if t.runtime.name == runtime))


@cache
def _docker_skip_reason() -> str | None:
    answers, why = docker_engine_status()
    return None if answers else why


def deployment_params(config: pytest.Config, with_knobs: bool = False,
                      among: tuple[str, ...] = ()) -> list:
    """pytest params (with skip/docker marks) for the --target and --backend options.

    with_knobs keeps the targets that have knobs; among keeps the named targets only."""
    targets = select(config.getoption("--target") or None)
    if with_knobs:
        targets = [t for t in targets if t.knob_names]
    if among:
        targets = [t for t in targets if t.name in among]
    wanted = config.getoption("--backend")
    params = []
    for backend in ("native", "docker"):
        if wanted not in ("all", backend):
            continue
        for target in targets:
            if backend == "native":
                reason = _native_skip_reason(target.runtime.name)
                optional = target.runtime.native_optional
                # A toolchain the host's own files cannot install skips even where native
                # is required (runtime.toml native_optional says why).
                must = required("LAB_REQUIRE_NATIVE") and not optional
                if reason and optional:
                    reason = f"{reason} ({optional})"
            else:
                reason = _docker_skip_reason()
                must = required("LAB_REQUIRE_DOCKER") or wanted == "docker"
            marks = [pytest.mark.docker] if backend == "docker" else []
            if reason and not must:
                marks.append(pytest.mark.skip(reason=reason))
            deployment = Deployment(backend, target.name)
            params.append(pytest.param(deployment, id=deployment.id, marks=marks))
    return params
