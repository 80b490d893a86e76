"""lab.bench-loadgen's search and parsing, without servers (the bench itself is a task)."""

from __future__ import annotations

import pytest

from lab.bench_loadgen import (
    MAX_PROBES,
    Bench,
    Probe,
    cpu_busy_seconds,
    parse_h2load_mean_us,
    search,
)
from lab.errors import LabError


def fake(limit: float, flaky: set[int] = frozenset()):
    """A pacer that keeps schedule up to limit req/s, except on the probes numbered in flaky."""
    calls = []

    def measure(rate: float) -> Probe:
        calls.append(rate)
        keeps = rate <= limit and len(calls) - 1 not in flaky
        return Probe(rate, 1.0 if keeps else 0.95, 0.1, 80.0, 0.5, 0.0)

    return measure, calls


@pytest.mark.parametrize("limit", [20_000, 45_000, 70_000, 150_000])
def test_search_finds_the_highest_rate_within_5_percent(limit: float) -> None:
    bench = Bench("native", wrk_rates=[60_000])
    measure, calls = fake(limit)
    search(bench, measure)
    assert len(calls) <= MAX_PROBES
    assert bench.best_rate <= limit
    if limit < 150_000:  # beyond what 10 probes reach from 30k
        assert bench.best_rate >= limit / 1.06


def test_a_single_miss_gets_a_second_look() -> None:
    bench = Bench("native", wrk_rates=[60_000])
    measure, calls = fake(45_000, flaky={0})
    search(bench, measure)
    assert calls[0] == calls[1] == 30_000 and bench.best_rate >= 45_000 / 1.06


def test_h2load_mean() -> None:
    out = """finished in 1.89s, 10576.55 req/s, 1.21MB/s
                     min         max         mean         sd        +/- sd
time for request:       25us      8.91ms        94us       379us    98.78%
time for connect:      105us       105us       105us         0us   100.00%
"""
    assert parse_h2load_mean_us(out) == 94.0
    assert parse_h2load_mean_us(out.replace("94us", "1.50ms")) == 1500.0
    with pytest.raises(LabError):
        parse_h2load_mean_us("nothing")


def test_cpu_busy_seconds_grow() -> None:
    import os

    cpus = tuple(os.sched_getaffinity(0))
    before = cpu_busy_seconds(cpus)
    sum(range(3_000_000))  # ~0.1 s of CPU
    assert cpu_busy_seconds(cpus) > before
