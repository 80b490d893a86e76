"""What io_uring offers here, and c/io_uring where it is blocked.

`build/io_uring --probe` sets up a ring as the server would, prints what it would use and
exits 0, or exits with EX_UNAVAILABLE (69) and the reason: what `lab.doctor` can ask. Where
a seccomp profile refuses io_uring_setup with EPERM (Docker 25 and later, by default), the
server itself stops at start-up with 69 and the reason, so that the lab can tell
"unavailable here" from a crash.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from lab.backends.docker import hardening
from lab.backends.selection import docker_engine_status
from lab.probe import free_port
from lab.targets import select
from tests.c.native import C_DIR, make, need
from tests.deployments import backend_for, required

EX_UNAVAILABLE = 69
BLOCK_IO_URING = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["io_uring_setup"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}


def _probe(*flags: str) -> str:
    result = subprocess.run([str(C_DIR / "build" / "io_uring"), "--probe", *flags],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_probe_says_what_the_kernel_offers() -> None:
    need("gcc", "make")
    make("models")
    assert _probe().startswith("c/io_uring: io_uring on Linux ")
    assert _probe("--plain").startswith("c/io_uring-plain: io_uring on Linux ")
    assert "plain accept, plain recv buffers, setup: default" in _probe("--plain")


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
