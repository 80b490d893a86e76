"""The C unit tests (runtimes/c/tests/check.c): golden digests, the parser fed whole and in
pieces, the parameter rules; built and run natively, as the image build does."""

from __future__ import annotations

from tests.c.native import make, need


def test_the_c_unit_tests_pass() -> None:
    need("gcc", "make")
    assert "all checks passed" in make("check")
