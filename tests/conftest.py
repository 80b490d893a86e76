"""Options shared by every test folder: which targets and which backends to exercise."""

from __future__ import annotations

import os


def pytest_addoption(parser) -> None:
    group = parser.getgroup("lab")
    group.addoption("--target", action="append", default=[],
                    help="target(s) to test, e.g. go/goroutines or python (repeatable, "
                         "comma-separated); default: all")
    group.addoption("--backend", default="all", choices=("all", "native", "docker"),
                    help="backend(s) to test; 'all' = native, plus docker when an engine "
                         "answers (required when LAB_REQUIRE_DOCKER=1)")


def require(flag: str) -> bool:
    return os.environ.get(flag, "") == "1"
