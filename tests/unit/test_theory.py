"""The blocking theory against cases computed by hand."""

from __future__ import annotations

import pytest

from lab.experiments.blocking.theory import blocked_percentiles, blocked_share


def test_one_loop_blocked_100ms_twice_a_second() -> None:
    # 20% of arrivals land in a burst and wait U(0, 100 ms): p90 = 50 ms, p99 = 95 ms.
    p = blocked_percentiles(100, 2, 1, (50, 80, 90, 99))
    assert p[50] == pytest.approx(0, abs=0.01)
    assert p[80] == pytest.approx(0, abs=0.05)
    assert p[90] == pytest.approx(50, abs=0.05)
    assert p[99] == pytest.approx(95, abs=0.05)
    assert blocked_share(100, 2, 1) == pytest.approx(0.2, abs=1e-3)


def test_a_second_executor_absorbs_bursts_that_never_overlap() -> None:
    assert blocked_percentiles(100, 2, 2)[99] == 0
    assert blocked_share(100, 2, 2) == 0


def test_overlapping_bursts_stall_two_executors_half_the_time() -> None:
    # 300 ms bursts every 200 ms: two run during [0, 100) of each period; a /ping
    # arriving then waits until the older one ends: U(0, 100) for half the arrivals.
    p = blocked_percentiles(300, 5, 2, (90, 99))
    assert p[90] == pytest.approx(80, abs=0.05)
    assert p[99] == pytest.approx(98, abs=0.05)
    assert blocked_share(300, 5, 2) == pytest.approx(0.5, abs=1e-3)


def test_unbounded_executors_never_stall() -> None:
    assert blocked_percentiles(100, 2, None)[99.9] == 0


def test_overload_is_refused() -> None:
    with pytest.raises(ValueError, match="overload"):
        blocked_percentiles(600, 2, 1)
