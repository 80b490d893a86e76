"""The threadpool experiment's fair-share theory against cases computed by hand."""

from __future__ import annotations

import pytest

from lab.experiments.threadpool.theory import burst, fair_share


@pytest.mark.parametrize(("jobs", "threads", "cores", "expected"), [
    (4, 1, 1, [10, 20, 30, 40]),          # one thread: one after another
    (4, 2, 2, [10, 10, 20, 20]),          # P = C: steps of P, one job's time apart
    (4, 1, 2, [10, 20, 30, 40]),          # P < C: a core idles, as slow as one core
    (4, 2, 1, [20, 20, 40, 40]),          # P > C: each wave time-sliced, late together
    (4, 4, 2, [20, 20, 20, 20]),          # four threads on two cores: all at 2 t
    (6, 4, 2, [20, 20, 20, 20, 30, 30]),  # a wave of 4 at half speed, then 2 at full
    (3, None, 2, [15, 15, 15]),           # a thread per job: 3 jobs share 2 cores
    (16, 8, 1, [80] * 8 + [160] * 8),
])
def test_equal_jobs_at_once(jobs: int, threads: int | None, cores: int,
                            expected: list[float]) -> None:
    assert burst(jobs, 10, threads, cores) == pytest.approx(expected)


def test_a_job_of_no_length_queued_behind_a_full_pool_waits_for_a_free_thread() -> None:
    # Two threads busy 0-10 and 10-20 with four jobs; a probe arriving at 5 is fifth in
    # the queue, so it gets a thread only when the second wave ends.
    done = fair_share([10, 10, 10, 10, 0], 2, 2, [0, 0, 0, 0, 5])
    assert done == pytest.approx([10, 10, 20, 20, 20])
    # With a free thread it runs at once, even while the cores are shared.
    assert fair_share([10, 0], 2, 1, [0, 3]) == pytest.approx([10, 3])


def test_unequal_jobs_share_the_core_until_the_short_one_ends() -> None:
    # 5 and 20 on one core: both at half speed until 10 (the short one done), then 15 more.
    assert fair_share([5, 20], None, 1) == pytest.approx([10, 25])


def test_jobs_arriving_later_start_when_they_arrive() -> None:
    assert fair_share([10, 10], 1, 1, [0, 30]) == pytest.approx([10, 40])


@pytest.mark.parametrize(("args", "message"), [
    (([1], 0, 1), "threads"), (([1], 1, 0), "cores"), (([-1], 1, 1), "negative"),
])
def test_impossible_pools_are_refused(args, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fair_share(*args)
