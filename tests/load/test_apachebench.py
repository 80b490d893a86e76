"""ApacheBench, a client everybody has, against every target with its default knobs.

`ab -k -c 32` keeps 32 connections open for the whole run: every target, started as
`lab.serve` starts it, must answer all of its requests (no failures, no non-2xx).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.deployments import Deployment, backend_for, deployment_params, ensure_built

REQUESTS = 20_000
CONCURRENCY = 32
TIMEOUT_S = 10  # ab's own limit per request; a stalled connection fails the run


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "deployment" in metafunc.fixturenames:
        metafunc.parametrize("deployment", deployment_params(metafunc.config))


def _count(report: str, label: str) -> int | None:
    found = re.search(rf"^{label}:\s+(\d+)", report, re.MULTILINE)
    return int(found[1]) if found else None


def test_apachebench_keep_alive_gets_every_answer(deployment: Deployment) -> None:
    ab = shutil.which("ab")
    assert ab, "ApacheBench is missing: apt-get install apache2-utils"
    target = ensure_built(deployment)
    backend = backend_for(deployment.backend)
    with backend.serve(target) as server:
        run = subprocess.run(
            ["taskset", "-c", backend.cpus.load_list, ab, "-k", "-q", "-n", str(REQUESTS),
             "-c", str(CONCURRENCY), "-s", str(TIMEOUT_S),
             f"http://{server.host}:{server.port}/ping"],
            capture_output=True, text=True, timeout=300)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-2000:]
    assert _count(report, "Complete requests") == REQUESTS, report
    assert _count(report, "Failed requests") == 0, report
    assert _count(report, "Non-2xx responses") in (None, 0), report  # printed only when > 0
    assert _count(report, "Keep-Alive requests") == REQUESTS, report
