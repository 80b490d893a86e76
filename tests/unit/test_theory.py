"""The blocking theory (a replay of the schedule that ran) against cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lab.experiments.blocking.theory import percentiles, periodic, replay_waits_ms

# A /ping every 0.1 ms samples the period finely: percentiles match the closed forms.
PINGS = periodic(10_000, 10_000)


def test_one_loop_blocked_100ms_twice_a_second() -> None:
    # 20% of arrivals land in a burst and wait U(0, 100 ms): p90 = 50 ms, p99 = 95 ms.
    waits = replay_waits_ms(PINGS, periodic(2, 10_000, 250), 100, 1)
    p = percentiles(waits, (50, 80, 90, 99))
    assert p[50] == pytest.approx(0, abs=0.01)
    assert p[80] == pytest.approx(0, abs=0.2)
    assert p[90] == pytest.approx(50, abs=0.2)
    assert p[99] == pytest.approx(95, abs=0.2)
    assert (waits > 0).mean() == pytest.approx(0.2, abs=1e-3)


def test_a_second_executor_absorbs_bursts_that_never_overlap() -> None:
    waits = replay_waits_ms(PINGS, periodic(2, 10_000, 250), 100, 2)
    assert waits.max() == 0


def test_overlapping_bursts_stall_two_executors_half_the_time() -> None:
    # 300 ms bursts every 200 ms: two run during [0, 100) of each period; a /ping
    # arriving then waits until the older one ends: U(0, 100) for half the arrivals.
    waits = replay_waits_ms(PINGS, periodic(5, 10_000), 300, 2)[PINGS >= 400]
    p = percentiles(waits, (90, 99))
    assert p[90] == pytest.approx(80, abs=0.2)
    assert p[99] == pytest.approx(98, abs=0.2)
    assert (waits > 0).mean() == pytest.approx(0.5, abs=2e-3)


def test_unbounded_executors_never_stall() -> None:
    assert replay_waits_ms(PINGS, periodic(2, 10_000), 100, None).max() == 0


def test_bursts_that_arrive_together_queue_first_come_first_served() -> None:
    # Two 100 ms bursts at t=0 on one loop: a ping at 50 ms waits for both (150 ms);
    # on two executors it waits for the first to end (50 ms).
    assert replay_waits_ms([50.0], [0.0, 0.0], 100, 1).tolist() == [150.0]
    assert replay_waits_ms([50.0], [0.0, 0.0], 100, 2).tolist() == [50.0]
    # A ping that arrives first is not delayed by a burst that comes after it.
    assert replay_waits_ms([0.0], [0.0], 100, 1).tolist() == [100.0]
    assert replay_waits_ms([-1.0], [0.0], 100, 1).tolist() == [0.0]


def test_an_overloaded_loop_falls_further_behind_each_burst() -> None:
    waits = replay_waits_ms(np.array([999.0, 1999.0]), periodic(2, 2000), 600, 1)
    assert waits[1] > waits[0] > 0
