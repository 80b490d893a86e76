"""Comparing two runs: medians, B/A, and honesty about noise."""

from __future__ import annotations

import pandas as pd
import pytest
from rich.console import Console

from analysis.compare import SINGLE, compare_aggregates, compare_runs, render_comparison
from analysis.stats import aggregate
from tests.report.runs import EXPERIMENTS, QUICK_RUN, SWEEP_RUN


def _rendered(df: pd.DataFrame) -> str:
    console = Console(record=True, width=200)
    console.print(render_comparison(df))
    return console.export_text()


def test_a_single_repetition_is_never_judged() -> None:
    df = compare_runs(QUICK_RUN, SWEEP_RUN, EXPERIMENTS)
    assert df.attrs == {"run_a": QUICK_RUN.name, "run_b": SWEEP_RUN.name}
    both = df[df["n_a"].notna() & df["n_b"].notna()]
    assert not both.empty
    assert (both["change"] == SINGLE).all()  # the quick run has one repetition
    rate = both[(both["target"] == "rust/tokio") & (both["metric"] == "requests_per_s")
                & (both["parameters"] == "endpoint=/ping connections=64")]
    assert len(rate) == 1
    raw_a, raw_b = (pd.read_csv(run / "sweep.csv") for run in (QUICK_RUN, SWEEP_RUN))

    def median(raw: pd.DataFrame) -> float:
        rows = raw[(raw["target"] == "rust/tokio") & (raw["metric"] == "requests_per_s")
                   & (raw["endpoint"] == "/ping") & (raw["connections"] == 64)]
        return float(rows["value"].median())

    assert rate["median_a"].iloc[0] == pytest.approx(median(raw_a))
    assert rate["median_b"].iloc[0] == pytest.approx(median(raw_b))
    assert rate["ratio"].iloc[0] == pytest.approx(median(raw_b) / median(raw_a))


def test_measurements_of_one_run_only_are_kept_and_labelled() -> None:
    df = compare_runs(QUICK_RUN, SWEEP_RUN, EXPERIMENTS)
    assert set(df.loc[df["experiment"] == "blocking", "change"]) == {"only in A"}
    assert "only in B" in set(df.loc[df["parameters"].str.contains("connections=16"), "change"])


def test_a_run_compared_with_itself_is_within_noise() -> None:
    df = compare_runs(SWEEP_RUN, SWEEP_RUN, EXPERIMENTS)
    assert set(df["change"]) == {"within noise"}
    assert df["ratio"].dropna().eq(1.0).all()


def _frame(values: list[float]) -> pd.DataFrame:
    return aggregate(pd.DataFrame([{
        "target": "go/goroutines", "runtime": "go", "model": "goroutines", "backend": "native",
        "variant": "default", "knobs": "{}", "repetition": i, "endpoint": "/ping",
        "connections": 64, "metric": "requests_per_s", "value": v, "unit": "req/s",
        "flags": ""} for i, v in enumerate(values)]))


@pytest.mark.parametrize(("a", "b", "expected"), [
    ([100, 104, 102], [120, 125, 122], "beyond noise: higher"),
    ([100, 104, 102], [80, 85, 90], "beyond noise: lower"),
    ([100, 104, 102], [103, 110, 108], "within noise"),
    ([100], [200, 210], SINGLE),
])
def test_change_is_judged_against_each_runs_spread(a: list[float], b: list[float],
                                                   expected: str) -> None:
    df = compare_aggregates(_frame(a), _frame(b), "sweep")
    assert df["change"].tolist() == [expected]
    assert df["ratio"].iloc[0] == pytest.approx(pd.Series(b).median() / pd.Series(a).median())


def test_the_terminal_table_is_readable() -> None:
    text = _rendered(compare_runs(QUICK_RUN, SWEEP_RUN, EXPERIMENTS))
    assert f"A = {QUICK_RUN.name}" in text and "[min-max]" in text
    assert SINGLE in text
    assert "requests_per_s (req/s)" in text
    assert "with a single repetition on a side, not judged" in text
    assert "only in A" in text  # in the caption's count of what is not shown


def test_an_empty_comparison_says_so() -> None:
    df = compare_runs(SWEEP_RUN, SWEEP_RUN, EXPERIMENTS).iloc[0:0]
    assert "Nothing to compare" in _rendered(df)
