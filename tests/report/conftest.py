"""Fixtures of the report tests: headless Chromium; every test here is marked `report`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.report.runs import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless; missing Chromium fails the tests (CI installs it)."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), (f"{CHROMIUM} is missing: install Debian's chromium "
                               "(.ci/run does) to run the report tests")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
