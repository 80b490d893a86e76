"""The load generators against real servers, on every backend (docker when an engine
answers, and always under LAB_REQUIRE_DOCKER=1)."""

from __future__ import annotations

from contextlib import AbstractContextManager

import pytest

from lab.backends import Backend, Server
from lab.backends.selection import docker_engine_status
from lab.targets import select
from tests.deployments import backend_for, required


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`backend`: native, and docker, as the --backend option selects."""
    if "backend" not in metafunc.fixturenames:
        return
    wanted = metafunc.config.getoption("--backend")
    params = []
    if wanted in ("all", "native"):
        params.append("native")
    if wanted in ("all", "docker"):
        answers, why = docker_engine_status()
        marks = [pytest.mark.docker]
        if not answers and not required("LAB_REQUIRE_DOCKER") and wanted != "docker":
            marks.append(pytest.mark.skip(reason=why))
        params.append(pytest.param("docker", marks=marks))
    metafunc.parametrize("backend", params, indirect=True, scope="module")


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> Backend:
    chosen = backend_for(request.param)
    chosen.build_loadgen()
    return chosen


def serve(backend: Backend, name: str, **knobs: str) -> AbstractContextManager[Server]:
    target = select(name)[0]
    backend.build(target.runtime)
    return backend.serve(target, knobs=knobs)
