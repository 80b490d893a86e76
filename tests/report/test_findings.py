"""Findings and statistics against the committed example runs: every number from the data.

Expected values are read straight from the fixtures' CSV files with plain pandas, not
through analysis.stats, so the tests check the analysis rather than repeat it.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from analysis.load import load_run
from analysis.quality import flag_findings, gap_findings
from analysis.stats import aggregate, fmt
from lab.experiments.blocking.findings import blocking_findings
from lab.experiments.blocking.theory import blocked_percentiles
from lab.experiments.blocking.verdicts import (
    BLOCKED,
    ISOLATED,
    PARTLY,
    blocking_verdicts,
    verdict,
)
from lab.experiments.sweep.findings import sweep_findings
from tests.report.runs import QUICK_RUN, SWEEP_RUN, copy_run

NUMBER = re.compile(r"(?<![A-Za-z_.\d])\d[\d,]*(?:\.\d+)?")  # not the 99 of p99


def csv(run, name: str) -> pd.DataFrame:
    return pd.read_csv(run / f"{name}.csv")


def one(frame: pd.DataFrame, **where: object) -> float:
    for column, wanted in where.items():
        frame = frame[frame[column] == wanted]
    assert len(frame) == 1, where
    return float(frame["value"].iloc[0])


def test_aggregate_takes_the_median_and_n_and_no_interval_from_two_repetitions() -> None:
    raw = csv(SWEEP_RUN, "sweep")
    agg = aggregate(load_run(SWEEP_RUN).table("sweep"))
    rates = raw[raw["metric"] == "requests_per_s"]
    expected = rates.groupby(["target", "endpoint", "connections"])["value"]
    for (target, endpoint, connections), values in expected:
        row = agg[(agg["target"] == target) & (agg["endpoint"] == endpoint)
                  & (agg["connections"] == connections) & (agg["metric"] == "requests_per_s")]
        assert len(row) == 1
        assert row["median"].iloc[0] == pytest.approx(values.median())
        assert row["n"].iloc[0] == len(values) == 2
        # min-max of two repetitions covers the median only half the time: cannot tell
        assert math.isnan(row["low"].iloc[0]) and row["method"].iloc[0] == ""


def test_one_repetition_of_requests_gives_percentiles_an_interval() -> None:
    agg = aggregate(load_run(QUICK_RUN).table("blocking"))
    go = agg[(agg["target"] == "go/goroutines") & (agg["stream"] == "ping")
             & (agg["phase"] == "inline")]
    p50 = go[go["metric"] == "latency_p50"].iloc[0]
    assert p50["n"] == 1 and p50["low"] <= p50["median"] <= p50["high"]
    assert p50["confidence"] == 0.95 and "requests" in p50["method"]
    # p99.9 of a second of /ping (200 requests) has nothing beyond it: cannot tell
    assert math.isnan(go[go["metric"] == "latency_p99_9"]["low"].iloc[0])
    # node/event-loop kept no point file in the fixture: no requests, no interval
    node = agg[(agg["target"] == "node/event-loop") & (agg["metric"] == "latency_p50")]
    assert node["low"].isna().all()


def test_rows_without_a_parameter_keep_their_interval_columns() -> None:
    """Noise rows have no stream; aggregating them beside percentiles with intervals works."""
    frame = load_run(QUICK_RUN).table("blocking")
    noise = frame.iloc[:1].assign(stream=math.nan, metric="foreign_cpu_load_s", value=0.1,
                                  ci_low=math.nan, ci_high=math.nan)
    agg = aggregate(pd.concat([frame, noise], ignore_index=True))
    assert agg[agg["metric"] == "foreign_cpu_load_s"]["median"].tolist() == [0.1]
    assert agg[agg["metric"] == "latency_p50"]["low"].notna().any()


def test_flags_survive_aggregation() -> None:
    agg = aggregate(load_run(QUICK_RUN).table("blocking"))
    flagged = agg[agg["flags"].str.contains("late-dispatch")]
    assert set(flagged["target"]) == {"rust/tokio"}
    assert set(flagged["phase"]) == {"baseline"}


def test_blocking_findings_quote_the_measured_p99s() -> None:
    raw = csv(QUICK_RUN, "blocking")
    ping = raw[raw["stream"] == "ping"]
    blocked = blocked_percentiles(100, 2.0, 1, (99,))[99]
    per_target = [f for f in blocking_findings(aggregate(load_run(QUICK_RUN).table("blocking")), {})
                  if f.values]
    assert {f.text.split(":")[0] for f in per_target} == {"go/goroutines", "node/event-loop",
                                                          "rust/tokio"}
    for finding in per_target:
        target = finding.text.split(":")[0]
        expected = {
            "baseline_p99": one(ping, target=target, phase="baseline", metric="latency_p99"),
            "inline_p99": one(ping, target=target, phase="inline", metric="latency_p99"),
            "offload_p99": one(ping, target=target, phase="offload", metric="latency_p99"),
            "theory_p99": one(ping, target=target, phase="inline", metric="theory_latency_p99"),
            "executors": one(ping, target=target, phase="inline", metric="executors"),
            "cpu_ms": 100.0, "cpu_rate_per_s": 2.0, "blocked_p99": blocked}
        assert finding.values == pytest.approx(expected)
        # Every number in the sentence is one of those values, as the report formats it.
        shown = {fmt(v, "ms") for v in expected.values()} | {fmt(v) for v in expected.values()}
        for number in NUMBER.findall(finding.text.replace("offload=1", "")):
            assert number in shown, (number, finding.text)
        share = (expected["inline_p99"] - expected["baseline_p99"]) / blocked
        assert f": {verdict(share)}," in finding.text


def test_blocking_verdicts_of_the_quick_run() -> None:
    verdicts = blocking_verdicts(aggregate(load_run(QUICK_RUN).table("blocking")))
    got = {(r.target, r.phase): r.verdict for r in verdicts.itertuples()}
    # node's event loop and tokio with one worker stall like a blocked loop (101 and 96 ms
    # p99 vs 95 ms in theory); Go's scheduler preempts the spinning goroutine (28 ms).
    assert got[("node/event-loop", "inline")] == BLOCKED
    assert got[("rust/tokio", "inline")] == BLOCKED
    assert got[("go/goroutines", "inline")] == PARTLY
    assert got[("node/event-loop", "offload")] == ISOLATED
    assert got[("rust/tokio", "offload")] == ISOLATED


@pytest.mark.parametrize(("share", "expected"), [
    (1.2, BLOCKED), (0.6, BLOCKED), (0.599, PARTLY), (0.15, PARTLY), (0.149, ISOLATED),
    (0.0, ISOLATED), (math.nan, "n/a"), (None, "n/a")])
def test_verdict_thresholds(share: float | None, expected: str) -> None:
    assert verdict(share) == expected


def test_sweep_findings_name_the_fastest_target_at_64_connections() -> None:
    raw = csv(SWEEP_RUN, "sweep")
    rates = raw[(raw["metric"] == "requests_per_s") & (raw["endpoint"] == "/ping")
                & (raw["connections"] == 64)].groupby("target")["value"].median()
    findings = sweep_findings(aggregate(load_run(SWEEP_RUN).table("sweep")))
    fastest = next(f for f in findings if "was fastest" in f.text and "/ping" in f.text)
    best = rates.idxmax()
    assert fastest.text.startswith(f"/ping at 64 connections: {best} was fastest with "
                                   f"{fmt(rates.max())} req/s")
    for target, value in rates.items():
        assert fastest.values[f"{target} requests_per_s"] == pytest.approx(value)
        assert fmt(value) in fastest.text
        if target != best:
            ratio = rates.max() / value
            assert (f"{ratio:.2f}x slower" if ratio >= 1.005 else "as fast") in fastest.text


def test_sweep_findings_compare_sleep_with_its_ceiling() -> None:
    raw = csv(QUICK_RUN, "sweep")
    rates = raw[(raw["metric"] == "requests_per_s") & (raw["endpoint"] == "/sleep?ms=10")]
    finding = next(f for f in sweep_findings(aggregate(load_run(QUICK_RUN).table("sweep")))
                   if "ceiling" in f.text)
    assert "the ceiling is 6,400 req/s (64 connections / 10 ms)" in finding.text
    assert finding.values["lowest"] == pytest.approx(rates["value"].min())
    reached = int((rates["value"] >= 0.8 * 6400).sum())
    assert f"{reached} of {len(rates)} target(s) reached 80% of it" in finding.text


def test_a_single_level_is_said_to_show_no_collapse() -> None:
    findings = sweep_findings(aggregate(load_run(QUICK_RUN).table("sweep")))
    assert any("only 64 connections were measured" in f.text and f.kind == "note"
               for f in findings)


def _sweep_rows(target: str, levels: dict[int, tuple[float, float]]) -> list[dict]:
    rows = []
    for connections, (rate, errors) in levels.items():
        for metric, value in (("requests_per_s", rate), ("errors", errors),
                              ("errors_timeout", errors), ("latency_p99", 5.0)):
            rows.append({"target": target, "runtime": target.split("/")[0],
                         "model": target.split("/")[1], "backend": "native",
                         "variant": "default", "knobs": "{}", "repetition": 0,
                         "endpoint": "/ping", "connections": connections, "metric": metric,
                         "value": value, "unit": "", "flags": "errors" if errors else ""})
    return rows


def test_sweep_findings_say_who_collapses_at_which_level() -> None:
    frame = pd.DataFrame(
        _sweep_rows("python/select", {64: (9000, 0), 1024: (8000, 0), 4096: (0, 5000)})
        + _sweep_rows("python/fork", {64: (4000, 0), 1024: (1000, 0), 4096: (900, 0)})
        + _sweep_rows("go/goroutines", {64: (50000, 0), 1024: (48000, 0), 4096: (47000, 0)}))
    texts = [f.text for f in sweep_findings(aggregate(frame))]
    assert ("python/select on /ping: errors from 4096 connections (5,000: timeout 5,000)."
            in texts)
    assert ("python/fork on /ping: requests/s fell to 25% of its peak (4,000 at 64 "
            "connections) at 1024 connections (1,000) (too few repetitions for an interval: "
            "not checked against noise).") in texts
    assert not any(t.startswith("go/goroutines on") for t in texts)


def test_flagged_measurements_become_findings() -> None:
    findings = flag_findings(load_run(QUICK_RUN))
    assert len(findings) == 1
    assert findings[0].kind == "flag"
    assert findings[0].text.startswith("blocking: 1 measurement(s) flagged late-dispatch "
                                       "(rust/tokio)")


def test_a_measurement_with_no_response_at_all_is_named(tmp_path) -> None:
    folder = copy_run(SWEEP_RUN, tmp_path)
    frame = pd.read_csv(folder / "sweep.csv", keep_default_na=False)
    hit = ((frame["target"] == "go/goroutines") & (frame["endpoint"] == "/sleep?ms=10")
           & (frame["repetition"] == 1))
    frame.loc[hit, "flags"] = "no-responses"
    frame.to_csv(folder / "sweep.csv", index=False)
    assert flag_findings(load_run(SWEEP_RUN)) == []
    (finding,) = flag_findings(load_run(folder))
    assert finding.kind == "flag"
    assert finding.text.startswith("sweep: 1 measurement(s) flagged no-responses "
                                   "(go/goroutines): the load generator got no response")


def test_a_mixed_run_says_so(tmp_path) -> None:
    folder = copy_run(SWEEP_RUN, tmp_path, mixed=[{
        "at": "2026-01-01T00:00:00+00:00", "differences": ["spec of sweep: duration_s changed"]}])
    texts = [f.text for f in gap_findings(load_run(folder))]
    assert any(t.startswith("This run is mixed") and "duration_s changed" in t for t in texts)
