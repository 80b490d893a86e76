"""lab.noise without servers: /proc/stat arithmetic, the noisy rule, pinning, run facts."""

from __future__ import annotations

import os
import threading

import pytest

from lab.cpus import CpuSets
from lab.noise import (
    CLOCK_TICK,
    NOISY_FOREIGN_SHARE,
    PointNoise,
    cpu_times,
    environment,
    pinned,
)

STAT = """cpu  100 0 50 1000 0 0 0 0 0 0
cpu0 10 1 5 500 7 3 2 4 0 0
cpu1 20 2 6 500 0 0 0 9 0 0
intr 1 2 3
"""


def test_busy_is_user_nice_system_and_steal_is_counted_apart() -> None:
    one = cpu_times([1], STAT)
    assert one.busy == pytest.approx(28 / CLOCK_TICK) and one.steal == pytest.approx(9 / CLOCK_TICK)
    both = cpu_times([0, 1], STAT)
    assert both.busy == pytest.approx(44 / CLOCK_TICK)   # irq, softirq, iowait left out
    assert both.steal == pytest.approx(13 / CLOCK_TICK)


def test_noisy_means_foreign_cpu_over_the_stated_share_of_the_server_cpus() -> None:
    def noise(foreign: float, cpus: int = 1) -> PointNoise:
        return PointNoise(2.0, cpus, foreign, 0.0, 0.0, 0.0, 0.5)

    threshold = 2.0 * NOISY_FOREIGN_SHARE
    assert noise(threshold * 1.1).noisy and not noise(threshold * 0.9).noisy
    assert not noise(threshold * 1.1, cpus=2).noisy   # the share of two CPUs' time
    assert noise(0.3).metrics()["foreign_cpu_server_share"] == pytest.approx(0.15)


def test_pinned_moves_every_thread_and_restores_them() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    seen: list[set[int]] = []
    started, stop = threading.Event(), threading.Event()

    def worker() -> None:
        started.set()
        stop.wait()
        seen.append(os.sched_getaffinity(0))

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait()
    with pinned([cpus[0]]):
        assert os.sched_getaffinity(0) == {cpus[0]}
        stop.set()
        thread.join()
    assert seen == [{cpus[0]}]   # a thread started before pinning was moved too
    assert os.sched_getaffinity(0) == before


def test_the_run_facts_name_governor_smt_and_container_runtime() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    facts = environment(CpuSets(server=(cpus[-1],), load=(cpus[0],)))
    assert set(facts["governors"]) == {str(c) for c in {cpus[0], cpus[-1]}}
    assert isinstance(facts["server_and_load_share_a_core"], bool)
    assert facts["container_runtime"] == {"name": "none (native processes)"}

    class Engine:
        def info(self) -> dict:
            return {"DefaultRuntime": "runc", "CgroupVersion": "2", "CgroupDriver": "systemd",
                    "RuncCommit": {"ID": "abc"}}

    runtime = environment(CpuSets(server=(cpus[-1],), load=(cpus[0],)), Engine())
    assert runtime["container_runtime"]["name"] == "runc"
    assert runtime["container_runtime"]["cgroup_version"] == "2"
