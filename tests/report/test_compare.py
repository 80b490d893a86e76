"""Comparing two runs: differences first, medians with intervals, a stated test, a verdict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from analysis.compare import NO_CHANGE, TOO_FEW, compare_runs, compare_tables, render_comparison
from analysis.content import Headline
from analysis.significance import REPETITIONS_TEST, REQUESTS_TEST
from analysis.stats import nearest_rank
from tests.report.runs import EXPERIMENTS, QUICK_RUN, SWEEP_RUN, copy_run


def _rendered(df: pd.DataFrame) -> str:
    console = Console(record=True, width=250)
    console.print(render_comparison(df))
    return console.export_text()


def test_single_repetitions_without_requests_cannot_tell() -> None:
    df = compare_runs(QUICK_RUN, SWEEP_RUN, EXPERIMENTS)
    assert df.attrs["run_a"] == QUICK_RUN.name and df.attrs["run_b"] == SWEEP_RUN.name
    rate = df[(df["target"] == "rust/tokio") & (df["metric"] == "goodput_per_s")
              & (df["parameters"] == "mode=closed endpoint=/ping connections=64")]
    assert len(rate) == 1
    raw_a, raw_b = (pd.read_csv(run / "sweep.csv") for run in (QUICK_RUN, SWEEP_RUN))

    def values(raw: pd.DataFrame) -> pd.Series:
        return raw[(raw["target"] == "rust/tokio") & (raw["metric"] == "goodput_per_s")
                   & (raw["endpoint"] == "/ping") & (raw["connections"] == 64)
                   & (raw["mode"] == "closed")]["value"]

    assert rate["median_a"].iloc[0] == pytest.approx(values(raw_a).median())
    assert rate["median_b"].iloc[0] == pytest.approx(values(raw_b).median())
    assert rate["ratio"].iloc[0] == pytest.approx(values(raw_b).median()
                                                  / values(raw_a).median())
    # 1 repetition against 2: a variance from the two, shrunk towards the other rows'
    assert rate["test"].iloc[0] == REPETITIONS_TEST


def test_measurements_of_one_run_only_are_kept_and_labelled() -> None:
    df = compare_runs(QUICK_RUN, SWEEP_RUN, EXPERIMENTS)
    assert set(df.loc[df["experiment"] == "blocking", "change"]) == {"only in A"}
    assert "only in B" in set(df.loc[df["parameters"].str.contains("connections=1024"),
                                     "change"])


def test_a_run_compared_with_itself_claims_nothing() -> None:
    df = compare_runs(SWEEP_RUN, SWEEP_RUN, EXPERIMENTS)
    claims = {c for c in df["change"] if c != NO_CHANGE and not c.startswith("cannot tell")}
    assert not claims
    assert df["ratio"].dropna().eq(1.0).all()


def _ping(samples: np.ndarray, phase: str = "inline") -> tuple[pd.DataFrame, list]:
    """A blocking-like table with one repetition and its requests, as compare sees them."""
    identity = {"target": "go/goroutines", "variant": "default", "repetition": 0,
                "phase": phase, "stream": "ping"}
    rows = [{**identity, "runtime": "go", "model": "goroutines", "backend": "native",
             "knobs": "{}", "metric": f"latency_p{q}", "value": nearest_rank(samples.tolist(), q),
             "unit": "ms", "flags": ""} for q in (50, 90)]
    return pd.DataFrame(rows), [(identity, samples)]


def test_one_repetition_is_tested_over_its_requests() -> None:
    rng = np.random.default_rng(7)
    a, requests_a = _ping(rng.lognormal(0, 0.5, 1600))
    same, requests_same = _ping(rng.lognormal(0, 0.5, 1600))
    slow, requests_slow = _ping(1.5 * rng.lognormal(0, 0.5, 1600))
    headline = Headline(("latency_p50", "latency_p90"), where={"stream": "ping"})
    df = compare_tables(a, same, "blocking", headline, requests_a, requests_same)
    assert set(df["test"]) == {REQUESTS_TEST} and set(df["change"]) == {NO_CHANGE}
    df = compare_tables(a, slow, "blocking", headline, requests_a, requests_slow)
    assert set(df["change"]) == {"slower"}
    # the same values without their requests: nothing to test with
    df = compare_tables(a, slow, "blocking", headline)
    assert set(df["change"]) == {TOO_FEW}


def test_requests_that_do_not_reproduce_the_value_are_not_used() -> None:
    rng = np.random.default_rng(8)
    a, requests_a = _ping(rng.lognormal(0, 0.5, 1600))
    b, requests_b = _ping(rng.lognormal(0, 0.5, 1600))
    b["value"] *= 2   # defined otherwise than over these requests
    df = compare_tables(a, b, "blocking", Headline(("latency_p50",)), requests_a, requests_b)
    assert set(df["change"]) == {TOO_FEW}


def _table(values: list[float], metric: str = "requests_per_s", unit: str = "req/s",
           target: str = "go/goroutines") -> pd.DataFrame:
    return pd.DataFrame([{
        "target": target, "runtime": "go", "model": "goroutines", "backend": "native",
        "variant": "default", "knobs": "{}", "repetition": i, "endpoint": "/ping",
        "connections": 64, "metric": metric, "value": v, "unit": unit, "flags": ""}
        for i, v in enumerate(values)])


@pytest.mark.parametrize(("metric", "unit", "shift", "expected"), [
    ("requests_per_s", "req/s", 1.3, "faster"),      # more goodput is faster
    ("requests_per_s", "req/s", 0.7, "slower"),
    ("latency_p99", "ms", 1.3, "slower"),             # more latency is slower
    ("latency_p99", "ms", 0.7, "faster"),
    ("errors", "errors", 1.3, "worse"),               # neither a time nor a rate
    ("requests_per_s", "req/s", 1.05, NO_CHANGE),     # under the minimum effect
])
def test_verdicts_follow_the_direction_of_the_metric(metric: str, unit: str, shift: float,
                                                     expected: str) -> None:
    a = [100.0, 101.0, 99.0]
    rows_a = pd.concat([_table([v * k for v in a], metric, unit, f"t{k}/m")
                        for k in range(1, 9)])
    rows_b = pd.concat([_table([v * k * (shift if k == 1 else 1) for v in
                                (100.5, 99.5, 100.0)], metric, unit, f"t{k}/m")
                        for k in range(1, 9)])
    df = compare_tables(rows_a, rows_b, "sweep", Headline((metric,)))
    assert df.loc[df["target"] == "t1/m", "change"].tolist() == [expected]
    assert set(df.loc[df["target"] != "t1/m", "change"]) == {NO_CHANGE}


def test_headline_direction_defaults_and_overrides() -> None:
    assert Headline(()).direction("requests_per_s", "req/s") == "higher"
    assert Headline(()).direction("latency_p99", "ms") == "lower"
    assert Headline(()).direction("errors", "errors") == "lower"
    assert Headline((), better={"errors": "higher"}).direction("errors", "errors") == "higher"


def test_too_few_repetitions_cannot_tell() -> None:
    df = compare_tables(_table([100.0]), _table([200.0]), "sweep")
    assert df["change"].tolist() == [TOO_FEW]


def test_the_terminal_output_warns_first_then_shows_intervals(tmp_path) -> None:
    b = copy_run(SWEEP_RUN, tmp_path, profile="full")
    meta = json.loads((b / "run.json").read_text())
    meta["backend"]["backend"] = "docker"
    meta["targets"]["go/goroutines"]["info"]["knobs"] = {"GOMAXPROCS": 2}
    (b / "run.json").write_text(json.dumps(meta))
    text = _rendered(compare_runs(SWEEP_RUN, b, EXPERIMENTS))
    first = text.splitlines()[:8]
    assert any("Warning: the runs differ" in line for line in first)
    assert any("backend: native in A, docker in B" in line for line in first)
    assert any("profile: standard in A, full in B" in line for line in first)
    assert any("go/goroutines knobs" in line and "GOMAXPROCS" in line for line in first)
    assert "moderated t on log values" in text and "Holm" in text
    assert "goodput_per_s (req/s)" in text
    assert "at most 5%" in text


def test_an_empty_comparison_says_so() -> None:
    df = compare_runs(SWEEP_RUN, SWEEP_RUN, EXPERIMENTS).iloc[0:0]
    assert "Nothing to compare" in _rendered(df)
