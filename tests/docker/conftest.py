"""Docker tests need an engine: without one they skip, or fail under LAB_REQUIRE_DOCKER=1."""

from __future__ import annotations

import pytest

from lab.backends.docker import DockerBackend
from lab.backends.selection import docker_engine_status
from tests.deployments import required


@pytest.fixture(scope="session")
def docker_backend() -> DockerBackend:
    answers, why = docker_engine_status()
    if not answers:
        if required("LAB_REQUIRE_DOCKER"):
            pytest.fail(f"LAB_REQUIRE_DOCKER=1 but {why}")
        pytest.skip(why)
    backend = DockerBackend(run_id="tests")
    yield backend
    backend.close()
