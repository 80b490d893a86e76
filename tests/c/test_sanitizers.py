"""The whole conformance suite against the C servers built with ASan + UBSan (and LSan).

The parser and the loops are C facing the network: the suite's hostile cases (malformed
heads, bodies over the limit, clients that vanish mid-request or reset mid-response) must
not touch memory they do not own, hit undefined behaviour, or leak.
"""

from __future__ import annotations

import re
import subprocess
import sys

from lab import ROOT
from tests.c.native import need

SUITE_TIMEOUT_SECONDS = 900


def test_the_conformance_suite_passes_against_the_sanitizer_build() -> None:
    need("gcc", "make")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/conformance", "-p", "tests.c.sanitized",
         "--target", "c", "--backend", "native", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=SUITE_TIMEOUT_SECONDS)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    summary = re.search(r"c sanitizer build: (\d+) server logs, none with a sanitizer report",
                        output)
    assert summary, output[-4000:]
    passed = re.search(r"(\d+) passed", output)
    # Four targets (c/io_uring twice: with and without the newer kernel features), each
    # with its shared server and the private ones of the lifecycle tests.
    assert passed and int(passed[1]) >= 4 * 100, output[-2000:]
    assert int(summary[1]) >= 4, output[-2000:]
