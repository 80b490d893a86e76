"""What the C runtime's own tests share: its folder, required tools, and make."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from lab import RUNTIMES_DIR
from tests.deployments import required

C_DIR = RUNTIMES_DIR / "c"
# Debian packages that provide each tool (the lists in .ci/run).
PACKAGES = {"gcc": "gcc", "make": "make", "clang": "clang libclang-rt-14-dev"}


def need(*tools: str) -> None:
    """Skip (fail under LAB_REQUIRE_NATIVE=1) when a native tool is missing."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        packages = " ".join(PACKAGES.get(tool, tool) for tool in missing)
        reason = f"{', '.join(missing)} not installed (apt-get install {packages})"
        if required("LAB_REQUIRE_NATIVE"):
            pytest.fail(reason)
        pytest.skip(reason)


def make(*targets: str, timeout: float = 300) -> str:
    """Run make in runtimes/c; its output, or a failure with the end of it."""
    result = subprocess.run(["make", "--no-print-directory", *targets], cwd=C_DIR,
                            capture_output=True, text=True, timeout=timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make {' '.join(targets)} failed:\n{output[-4000:]}"
    return output
