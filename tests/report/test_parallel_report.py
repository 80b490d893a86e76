"""The parallel and threadpool analyses against real runs (tests/fixtures/runs): every
number they report is recomputed here from the CSV files with plain pandas."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.load import load_run
from analysis.report import write_report
from lab.experiments.parallel import EXPERIMENT as PARALLEL
from lab.experiments.parallel.speedups import speedup_frame
from lab.experiments.threadpool import EXPERIMENT as THREADPOOL
from lab.experiments.threadpool.bursts import bursts, probes
from lab.experiments.threadpool.theory import burst
from tests.report.runs import EXPERIMENTS, PARALLEL_RUN, THREADPOOL_RUN


def values(run, experiment: str, metric: str, **where: object) -> pd.DataFrame:
    frame = pd.read_csv(run / f"{experiment}.csv")
    frame = frame[frame["metric"] == metric]
    for column, wanted in where.items():
        frame = frame[frame[column] == wanted]
    return frame


def test_speedups_are_work_per_second_on_k_cpus_over_on_one() -> None:
    speedups = speedup_frame(load_run(PARALLEL_RUN))
    raw = values(PARALLEL_RUN, "parallel", "work_per_s")
    assert not speedups.empty
    for _, row in speedups.iterrows():
        mine = raw[(raw["target"] == row["target"]) & (raw["endpoint"] == row["endpoint"])
                   & (raw["offload"] == row["offload"])]
        one = mine.loc[mine["cpus"] == 1, "value"].median()
        k = mine.loc[mine["cpus"] == row["k"], "value"].median()
        assert row["speedup"] == pytest.approx(k / one)
    # offload=1 only where the target has a pool for it
    go = speedups[speedups["target"] == "go/goroutines"]
    assert set(go["offload"]) == {0}
    assert set(speedups.loc[speedups["target"] == "node/event-loop", "offload"]) == {0, 1}


def test_the_prediction_follows_the_knobs_each_server_reported() -> None:
    speedups = speedup_frame(load_run(PARALLEL_RUN)).set_index(["target", "endpoint",
                                                                "offload"])
    go = speedups.loc[("go/goroutines", "/work", 0)]
    assert (go["capacity_1"], go["capacity_k"], go["expected"]) == (1, 2, 2)
    loop = speedups.loc[("node/event-loop", "/work", 0)]
    assert (loop["capacity_1"], loop["capacity_k"], loop["expected"]) == (1, 1, 1)
    threads = speedups.loc[("python/threaded", "/work", 0)]
    assert threads["expected"] == 2  # a thread per connection: the GIL is not a fact


def test_every_parallel_finding_and_scorecard_cell_comes_from_the_frame() -> None:
    run = load_run(PARALLEL_RUN)
    speedups = speedup_frame(run)
    section = PARALLEL.section(run, {})
    text = " ".join(f.text for f in section.findings)
    for _, row in speedups.iterrows():
        assert f"{row['speedup']:.2f}x" in text
    columns = {c.title: c for c in PARALLEL.scorecard(run)}
    work = columns["/work inline, 2 CPUs"]
    row = speedups[(speedups["target"] == "go/goroutines") & (speedups["endpoint"] == "/work")]
    assert work.cells["go/goroutines"].text.startswith(f"{row['speedup'].iloc[0]:.2f}x")
    assert set(work.cells) == set(speedups["target"])


def test_bursts_are_the_csv_with_the_fair_share_theory_beside_it() -> None:
    run = load_run(THREADPOOL_RUN)
    found = bursts(run)
    assert not found.empty
    for _, row in found.iterrows():
        where = {"target": row["target"], "cpus": row["cpus"], "pool": row["pool"]}
        done = values(THREADPOOL_RUN, "threadpool", "completion_ms", **where)
        assert row["max"] == pytest.approx(done["value"].max())
        assert row["first"] == pytest.approx(done["value"].min())
        t = values(THREADPOOL_RUN, "threadpool", "t_ms", **where)["value"].iloc[0]
        theory = burst(int(row["requests"]), t, int(row["pool"]) or None, int(row["cpus"]))
        assert row["theory_max"] == pytest.approx(theory[-1])
        assert row["theory_first"] == pytest.approx(theory[0])


def test_the_probe_waits_only_while_the_burst_holds_the_pool() -> None:
    found = probes(load_run(THREADPOOL_RUN))
    assert set(found["target"]) == {"node/event-loop"}  # the only one here with a probe
    before = found[found["probe_at_ms"] < 0]
    assert (before["theory"] == 0).all()
    at_start = found[found["probe_at_ms"] == 0]
    assert (at_start["theory"] > 0).all()


def test_the_report_has_both_sections_and_their_scorecard_columns(tmp_path) -> None:
    for run, title, column in ((PARALLEL_RUN, PARALLEL.concept.title, "/work inline, 2 CPUs"),
                               (THREADPOOL_RUN, THREADPOOL.concept.title,
                                "burst vs fair share")):
        html = write_report(run, EXPERIMENTS, reports_dir=tmp_path / "reports").read_text()
        assert title in html and column in html
        assert "failed on this data" not in html
