"""Fixtures of the conformance suite: one server per (backend, target), shared by its tests.

`server` is started once per deployment and checked after every test: a hostile case
must leave it answering /ping. `fresh_server` starts a private one for tests that end
a server's life (signals) or need particular knobs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from lab.backends import Server
from lab.probe import ping
from tests.deployments import Deployment, backend_for, deployment_params, ensure_built

# Pool models serve one connection per worker at a time (the model's nature); the suite
# opens a few connections at once, so it gives them four workers.
CONFORMANCE_KNOBS = {"WORKERS": "4"}


def knobs_for(target_knobs: tuple[str, ...], extra: dict[str, str] | None = None) -> dict:
    knobs = {k: v for k, v in CONFORMANCE_KNOBS.items() if k in target_knobs}
    knobs.update(extra or {})
    return knobs


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "deployment" in metafunc.fixturenames:
        # with_knobs: only targets that have knobs; targets(...): only the named targets.
        only = metafunc.definition.get_closest_marker("targets")
        params = deployment_params(
            metafunc.config,
            with_knobs=metafunc.definition.get_closest_marker("with_knobs") is not None,
            among=only.args if only else ())
        metafunc.parametrize("deployment", params, indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test none of whose targets is selected does not exist here: deselected, not skipped."""
    absent = [item for item in items if "deployment" in getattr(item, "fixturenames", ())
              and not isinstance(item.callspec.params.get("deployment"), Deployment)]
    if absent:
        config.hook.pytest_deselected(items=absent)
        items[:] = [item for item in items if item not in absent]


@pytest.fixture(scope="session")
def deployment(request: pytest.FixtureRequest) -> Deployment:
    return request.param


@pytest.fixture(scope="session")
def server(deployment: Deployment) -> Iterator[Server]:
    target = ensure_built(deployment)
    with backend_for(deployment.backend).serve(target, knobs=knobs_for(target.knob_names)) as s:
        yield s


@pytest.fixture(autouse=True)
def still_serving(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test on the shared server, the server must still answer /ping."""
    yield
    if "server" in request.fixturenames:
        s = request.getfixturevalue("server")
        assert ping(s.host, s.port, timeout=5.0), f"{s.target} stopped answering /ping"


@pytest.fixture
def fresh_server(deployment: Deployment) -> Callable[..., AbstractContextManager[Server]]:
    """A factory: fresh_server(knobs={...}) starts a private server of this deployment."""
    target = ensure_built(deployment)

    def start(knobs: dict[str, str] | None = None) -> AbstractContextManager[Server]:
        return backend_for(deployment.backend).serve(
            target, knobs=knobs_for(target.knob_names, knobs))

    return start
