"""Options shared by every test folder: which targets and which backends to exercise."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent
SUITES = ("unit", "conformance", "docker", "report", "load", "lifecycle")


def pytest_addoption(parser) -> None:
    group = parser.getgroup("lab")
    group.addoption("--target", action="append", default=[],
                    help="target(s) to test, e.g. go/goroutines or python (repeatable, "
                         "comma-separated); default: all")
    group.addoption("--backend", default="all", choices=("all", "native", "docker"),
                    help="backend(s) to test; 'all' = native, plus docker when an engine "
                         "answers (required when LAB_REQUIRE_DOCKER=1)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its folder's suite (tests/unit -> unit), so `-m unit` works."""
    for item in items:
        parts = item.path.relative_to(TESTS).parts if TESTS in item.path.parents else ()
        if parts and parts[0] in SUITES:
            item.add_marker(getattr(pytest.mark, parts[0]))
