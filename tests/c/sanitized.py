"""A pytest plugin: the conformance suite against the C targets built with sanitizers.

With it, the c targets run the binaries of `make sanitize` (AddressSanitizer, with
LeakSanitizer at exit, and UndefinedBehaviorSanitizer; any report ends the server with an
error), plus c/io_uring-plain, c/io_uring without multishot accept and provided buffers,
so that the fallback code is proven too. At the end, every server log is searched for a
sanitizer report, which fails the session even where the suite itself passed (a leak is
reported only at exit). tests/c/test_sanitizers.py runs it; by hand:

    uv run python -m pytest tests/conformance -p tests.c.sanitized --target c --backend native
"""

from __future__ import annotations

import dataclasses
import re

import pytest

import lab.targets
from lab.targets import Target

BUILD = "build/sanitize"
REPORT = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")
_discover = lab.targets.discover


def sanitized(targets: list[Target]) -> list[Target]:
    out = [t for t in targets if t.runtime.name != "c"]
    c = [t for t in targets if t.runtime.name == "c"]
    if not c:
        return out
    runtime = dataclasses.replace(c[0].runtime,
                                  build_steps=(("make", "--no-print-directory", "sanitize"),))
    for target in c:
        command = (target.command[0].replace("build/", f"{BUILD}/", 1), *target.command[1:])
        out.append(dataclasses.replace(target, runtime=runtime, command=command))
        if target.model == "io_uring":
            out.append(dataclasses.replace(out[-1], model="io_uring-plain",
                                           command=(*command, "--plain")))
    return sorted(out, key=lambda t: t.name)


def discover(*args, **kwargs) -> list[Target]:
    return sanitized(_discover(*args, **kwargs))


# Before the suite's conftest imports anything: lab.targets.select() calls discover().
lab.targets.discover = discover


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests.deployments import backend_for

    logs = sorted(backend_for("native").log_dir.glob("c-*.log"))
    reports = [(log.name, log.read_text(errors="replace")) for log in logs]
    reports = [(name, text) for name, text in reports if REPORT.search(text)]
    for name, text in reports:
        print(f"\n--- sanitizer report in {name} ---\n{text[-6000:]}")
    print(f"\nc sanitizer build: {len(logs)} server logs, "
          f"{len(reports) or 'none'} with a sanitizer report")
    if reports:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
