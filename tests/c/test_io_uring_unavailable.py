"""c/io_uring where io_uring is blocked: a clear reason and EX_UNAVAILABLE (69) at start-up.

The container gets the lab's hardening plus a seccomp profile that refuses io_uring_setup
with EPERM, as Docker 25 and later do by default; the lab can tell "unavailable here"
(exit status 69, the reason on stderr) from a crash.
"""

from __future__ import annotations

import json

import pytest

from lab.backends.docker import hardening
from lab.backends.selection import docker_engine_status
from lab.probe import free_port
from lab.targets import select
from tests.deployments import backend_for, required

EX_UNAVAILABLE = 69
BLOCK_IO_URING = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["io_uring_setup"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}


@pytest.mark.docker
def test_io_uring_blocked_by_seccomp_says_so_and_exits_69() -> None:
    answers, why = docker_engine_status()
    if not answers:
        if required("LAB_REQUIRE_DOCKER"):
            pytest.fail(why)
        pytest.skip(why)
    target = select("c/io_uring")[0]
    backend = backend_for("docker")
    backend.build(target.runtime)
    options = hardening()
    options["security_opt"] = [*options["security_opt"],
                               f"seccomp={json.dumps(BLOCK_IO_URING)}"]
    container = backend.client.containers.run(
        f"{target.runtime.image_name}:latest", command=list(target.command), detach=True,
        environment={"PORT": str(free_port())}, labels=backend.labels("server", target.name),
        **options)
    try:
        status = container.wait(timeout=30)["StatusCode"]
        log = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    assert status == EX_UNAVAILABLE, log
    assert "c/io_uring: io_uring is unavailable here: io_uring_setup failed with EPERM" in log
    assert "seccomp" in log
