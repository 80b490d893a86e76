from __future__ import annotations

import pytest

from lab.cpus import default_cpu_sets, format_cpu_list, parse_cpu_list
from lab.errors import LabError


@pytest.mark.parametrize(("text", "cpus"), [("0", (0,)), ("0-2,5", (0, 1, 2, 5)),
                                             ("3,1", (1, 3)), (" 1 - 2 ", (1, 2))])
def test_parse_cpu_list(text: str, cpus: tuple[int, ...]) -> None:
    assert parse_cpu_list(text.replace(" ", "")) == cpus
    assert parse_cpu_list(format_cpu_list(cpus)) == cpus


@pytest.mark.parametrize("text", ["", "a", "2-1", "1-x", ","])
def test_bad_cpu_lists_are_errors(text: str) -> None:
    with pytest.raises(LabError):
        parse_cpu_list(text)


def test_default_split_is_disjoint(monkeypatch) -> None:
    monkeypatch.setattr("lab.cpus.available_cpus", lambda: (0, 1, 2, 3))
    monkeypatch.delenv("LAB_SERVER_CPUS", raising=False)
    monkeypatch.delenv("LAB_LOAD_CPUS", raising=False)
    sets = default_cpu_sets()
    assert sets.load == (0, 1) and sets.server == (2, 3)


def test_overlapping_explicit_sets_are_refused(monkeypatch) -> None:
    monkeypatch.setattr("lab.cpus.available_cpus", lambda: (0, 1))
    with pytest.raises(LabError, match="overlap"):
        default_cpu_sets(server="0-1", load="1")


def test_unavailable_cpus_are_refused(monkeypatch) -> None:
    monkeypatch.setattr("lab.cpus.available_cpus", lambda: (0, 1))
    with pytest.raises(LabError, match="not available"):
        default_cpu_sets(server="7", load="0")
