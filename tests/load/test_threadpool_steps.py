"""The threadpool experiment end to end on one target: a burst of offloaded /hash against a
pool of P threads on one CPU completes in steps of P (a behaviour, not a timing: halfway
between two of the theory's steps, exactly the waves before have completed), beside the
fair-share theory."""

from __future__ import annotations

import pytest

from lab.cpus import format_cpu_list
from lab.experiments.framework import run_experiment
from lab.experiments.threadpool import Threadpool
from lab.experiments.threadpool.measure import ThreadpoolSpec
from lab.results import create_run
from lab.targets import select

REQUESTS = 8
POOLS = (2, 4)


class SmallBursts(Threadpool):
    profiles = {"test": ThreadpoolSpec(requests=REQUESTS, pool_sizes=POOLS, request_ms=20,
                                       repetitions=1, max_cpus=1)}


@pytest.fixture(scope="module")
def rows(backend, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    target = select("node/event-loop")[0]
    backend.build(target.runtime)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("lab.results.RESULTS_DIR", tmp_path_factory.mktemp("threadpool"))
        run = create_run(["test"], backend=backend.describe(), profile="test",
                         experiments=["threadpool"], cpus=backend.cpus.as_record(),
                         targets={})
    outcome = run_experiment(SmallBursts(), "test", [target], backend, run)
    assert (outcome.measured, outcome.failed) == (len(POOLS), 0), run.failures("threadpool")
    return [row for point in run.points("threadpool") for row in point["rows"]]


def completions(rows: list[dict], pool: int, metric: str = "completion_ms") -> list[float]:
    mine = sorted((r["rank"], r["value"]) for r in rows
                  if r["metric"] == metric and r["pool"] == pool)
    return [value for _, value in mine]


@pytest.mark.parametrize("pool", POOLS)
def test_a_burst_completes_in_steps_of_the_pool_size(rows: list[dict], pool: int) -> None:
    done = completions(rows, pool)
    assert len(done) == REQUESTS and all(v is not None for v in done), done
    assert done == sorted(done)
    theory = completions(rows, pool, "theory_completion_ms")
    steps = sorted(set(theory))
    assert len(steps) == REQUESTS // pool  # the theory's steps: one per wave
    # A wave of P threads time-sliced on one CPU ends within a few scheduler slices of the
    # theory's step, and the next wave needs P whole requests more: halfway between two
    # steps, exactly the waves before have completed.
    for wave, (step, following) in enumerate(zip(steps, steps[1:], strict=False), start=1):
        halfway = (step + following) / 2
        assert sum(d <= halfway for d in done) == wave * pool, (pool, done, steps)


def test_rows_record_the_pool_and_the_cpu_set(rows: list[dict], backend) -> None:
    # the experiment's own rows (the framework's noise rows carry only the point's keys)
    own = [r for r in rows if r["metric"] in ("completion_ms", "theory_completion_ms")]
    assert {r["pool"] for r in own} == set(POOLS)
    assert {r["pool_knob"] for r in own} == {"UV_THREADPOOL_SIZE"}
    assert {r["server_cpus"] for r in own} == {format_cpu_list(backend.cpus.server[:1])}
    assert {r["cpus"] for r in own} == {1}
