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
from analysis.quality import flag_findings, flag_table, gap_findings
from analysis.stats import aggregate, fmt
from lab.experiments.blocking.findings import blocking_findings
from lab.experiments.blocking.verdicts import (
    BLOCKED,
    ISOLATED,
    PARTLY,
    blocking_verdicts,
    verdict,
)
from lab.experiments.sweep.findings import knee_findings, sweep_findings
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
    rates = raw[(raw["metric"] == "goodput_per_s") & (raw["mode"] == "closed")]
    expected = rates.groupby(["target", "endpoint", "connections"])["value"]
    for (target, endpoint, connections), values in expected:
        row = agg[(agg["target"] == target) & (agg["endpoint"] == endpoint)
                  & (agg["connections"] == connections) & (agg["metric"] == "goodput_per_s")
                  & (agg["mode"] == "closed")]
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
    # p99.9 of 1.5 s of /ping (300 requests) has nothing beyond it: cannot tell
    assert math.isnan(go[go["metric"] == "latency_p99_9"]["low"].iloc[0])
    # node/event-loop kept no point file in the fixture: no requests, no interval
    node = agg[(agg["target"] == "node/event-loop") & (agg["metric"] == "latency_p50")]
    assert node["low"].isna().all()


def test_rows_without_a_parameter_keep_their_interval_columns() -> None:
    """Noise rows have no stream; aggregating them beside percentiles with intervals works."""
    frame = load_run(QUICK_RUN).table("blocking")
    noise = frame.iloc[:1].assign(stream=math.nan, metric="a_noise_of_no_stream", value=0.1,
                                  ci_low=math.nan, ci_high=math.nan)
    agg = aggregate(pd.concat([frame, noise], ignore_index=True))
    assert agg[agg["metric"] == "a_noise_of_no_stream"]["median"].tolist() == [0.1]
    assert agg[agg["metric"] == "latency_p50"]["low"].notna().any()


def test_flags_survive_aggregation() -> None:
    """A flag raised in any repetition of a measurement is on its aggregate row."""
    raw = load_run(SWEEP_RUN).table("sweep")
    agg = aggregate(raw)
    flagged = raw[raw["flags"].str.contains("starved")]
    assert not flagged.empty
    for _, row in flagged.iterrows():
        hit = agg[(agg["target"] == row["target"]) & (agg["connections"] == row["connections"])
                  & (agg["endpoint"] == row["endpoint"]) & (agg["metric"] == row["metric"])
                  & (agg["mode"] == row["mode"])]
        assert "starved" in hit["flags"].iloc[0]


def test_blocking_findings_quote_the_measured_p99s() -> None:
    raw = csv(QUICK_RUN, "blocking")
    ping = raw[raw["stream"] == "ping"]
    per_target = [f for f in blocking_findings(aggregate(load_run(QUICK_RUN).table("blocking")), {})
                  if f.values]
    assert {f.text.split(":")[0] for f in per_target} == {"go/goroutines", "node/event-loop",
                                                          "rust/tokio"}
    for finding in per_target:
        target = finding.text.split(":")[0]
        blocked = one(ping, target=target, phase="inline", metric="blocked_loop_latency_p99")
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
    # node's event loop and tokio with one worker stall like a blocked loop; offloading
    # isolates them; Go's scheduler preempts the spinning goroutine (only partly stalled).
    assert got[("node/event-loop", "inline")] == BLOCKED
    assert got[("rust/tokio", "inline")] == BLOCKED
    assert got[("go/goroutines", "inline")] in (PARTLY, ISOLATED)
    assert got[("node/event-loop", "offload")] == ISOLATED
    assert got[("rust/tokio", "offload")] == ISOLATED
    # The yardstick is the schedule that ran (Poisson bursts), replayed: near 95 ms.
    assert 60 < verdicts["blocked_p99"].min() <= verdicts["blocked_p99"].max() < 200


@pytest.mark.parametrize(("share", "expected"), [
    (1.2, BLOCKED), (0.6, BLOCKED), (0.599, PARTLY), (0.15, PARTLY), (0.149, ISOLATED),
    (0.0, ISOLATED), (math.nan, "n/a"), (None, "n/a")])
def test_verdict_thresholds(share: float | None, expected: str) -> None:
    assert verdict(share) == expected


def _closed(run) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = load_run(run).table("sweep")
    return (aggregate(frame[frame["mode"] == "closed"]),
            aggregate(frame[frame["mode"] == "open"]))


def test_sweep_findings_name_who_served_the_most_at_64_connections() -> None:
    raw = csv(SWEEP_RUN, "sweep")
    rates = raw[(raw["metric"] == "goodput_per_s") & (raw["endpoint"] == "/ping")
                & (raw["mode"] == "closed") & (raw["connections"] == 64)
                ].groupby("target")["value"].median()
    findings = sweep_findings(*_closed(SWEEP_RUN))
    fastest = next(f for f in findings if "served the most" in f.text and "/ping" in f.text)
    best = rates.idxmax()
    assert fastest.text.startswith(f"/ping at 64 connections: {best} served the most, "
                                   f"{fmt(rates.max())} responses/s (2xx, steady state)")
    for target, value in rates.items():
        assert fastest.values[f"{target} goodput_per_s"] == pytest.approx(value)
        assert fmt(value) in fastest.text


def test_sweep_findings_compare_sleep_with_its_ceiling() -> None:
    raw = csv(SWEEP_RUN, "sweep")
    rates = raw[(raw["metric"] == "goodput_per_s") & (raw["endpoint"] == "/sleep?ms=10")]
    medians = rates.groupby("target")["value"].median()
    finding = next(f for f in sweep_findings(*_closed(SWEEP_RUN)) if "ceiling" in f.text)
    assert "the ceiling is 102,400 responses/s (1024 connections / 10 ms)" in finding.text
    assert finding.values["lowest"] == pytest.approx(medians.min())
    reached = int((medians >= 0.8 * 102_400).sum())
    assert f"{reached} of {len(medians)} target(s) reached 80% of it" in finding.text


def test_starved_connections_and_set_up_are_said_with_their_numbers() -> None:
    raw = csv(SWEEP_RUN, "sweep")
    never = raw[(raw["metric"] == "connections_never_served") & (raw["value"] > 0)]
    texts = [f.text for f in sweep_findings(*_closed(SWEEP_RUN))]
    for (target, connections), _values in never.groupby(["target", "connections"])["value"]:
        median = raw[(raw["metric"] == "connections_never_served") & (raw["target"] == target)
                     & (raw["connections"] == connections)]["value"].median()
        if median > 0:
            assert any(t.startswith(f"{target} on /ping: {fmt(median)} of {connections:,} "
                                    "connections were never served") for t in texts), texts
    assert any(t.startswith("Set-up on /ping at 4,096 connections") for t in texts)


def test_a_single_level_is_said_to_show_no_collapse() -> None:
    findings = sweep_findings(*_closed(QUICK_RUN))
    assert any("only 64 connections were measured" in f.text and f.kind == "note"
               for f in findings)


def test_the_knee_is_where_p99_rose_five_times() -> None:
    _, opened = _closed(SWEEP_RUN)
    for finding in knee_findings(opened):
        target = finding.text.split(":")[0]
        mine = opened[(opened["target"] == target) & (opened["metric"] == "latency_p99")]
        p99 = mine.sort_values("load")["median"].tolist()
        if "knee" in finding.text:
            assert finding.values["p99"] > 5 * p99[0] and finding.values["base_p99"] == p99[0]
        else:
            assert all(v <= 5 * p99[0] or v <= 1.0 for v in p99[1:])


def _sweep_rows(target: str, levels: dict[int, tuple[float, float, float]]) -> list[dict]:
    rows = []
    for connections, (rate, errors, never) in levels.items():
        for metric, value in (("goodput_per_s", rate), ("errors", errors),
                              ("errors_timeout", errors), ("connections_never_served", never)):
            rows.append({"target": target, "runtime": target.split("/")[0],
                         "model": target.split("/")[1], "backend": "native",
                         "variant": "default", "knobs": "{}", "repetition": 0, "mode": "closed",
                         "endpoint": "/ping", "connections": connections, "metric": metric,
                         "value": value, "unit": "", "flags": "errors" if errors else ""})
    return rows


def test_never_served_connections_are_placed_in_the_kernels_queue_or_the_servers() -> None:
    frame = pd.DataFrame(
        _sweep_rows("python/prefork", {1024: (3900, 0, 896)})
        + _sweep_rows("python/threadpool", {1024: (3900, 0, 896)}))
    queues = {"python/prefork": 896, "python/threadpool": 0}
    queued = frame[frame["metric"] == "goodput_per_s"].assign(
        metric="accept_queue", value=lambda rows: rows["target"].map(queues))
    frame = pd.concat([frame, queued], ignore_index=True)
    texts = [f.text for f in sweep_findings(aggregate(frame), aggregate(frame.iloc[0:0]))]
    assert any(t.startswith("python/prefork on /ping: 896 of 1,024") and "896 were still "
               "in the kernel's accept queue" in t for t in texts), texts
    assert any(t.startswith("python/threadpool on /ping: 896 of 1,024") and "the server "
               "accepted them and queued them itself" in t for t in texts), texts


def test_sweep_findings_say_who_collapses_at_which_level() -> None:
    frame = pd.DataFrame(
        _sweep_rows("python/select", {64: (9000, 0, 0), 1024: (8000, 0, 0), 4096: (0, 5000, 0)})
        + _sweep_rows("python/fork", {64: (4000, 0, 0), 1024: (1000, 0, 0), 4096: (900, 0, 0)})
        + _sweep_rows("python/prefork", {64: (4000, 0, 0), 1024: (3900, 0, 896)})
        + _sweep_rows("go/goroutines", {64: (50000, 0, 0), 1024: (48000, 0, 0),
                                        4096: (47000, 0, 0)}))
    texts = [f.text for f in sweep_findings(aggregate(frame), aggregate(frame.iloc[0:0]))]
    assert ("python/select on /ping: failed requests from 4,096 connections (5,000: timeout "
            "5,000).") in texts
    assert ("python/fork on /ping: goodput fell to 25% of its peak (4,000/s at 64 "
            "connections) at 1,024 connections (1,000/s) (too few repetitions for an interval: "
            "not checked against noise).") in texts
    assert any(t.startswith("python/prefork on /ping: 896 of 1,024 connections were never "
                            "served") for t in texts)
    assert not any(t.startswith("go/goroutines on") for t in texts)


def test_flagged_measurements_become_findings() -> None:
    run = load_run(SWEEP_RUN)
    table = flag_table(run)
    findings = flag_findings(run)
    for finding in findings:
        assert finding.kind == "flag"
        flag = finding.text.split(" flagged ")[1].split(" ")[0]
        count = int(table["flags"].str.split(";").apply(lambda fs, f=flag: f in fs).sum())
        assert finding.text.startswith(f"sweep: {count} measurement(s) flagged {flag} ")
    assert {"starved", "noisy"} <= {f.text.split(" flagged ")[1].split(" ")[0]
                                    for f in findings}


def test_a_measurement_with_no_response_at_all_is_named(tmp_path) -> None:
    folder = copy_run(SWEEP_RUN, tmp_path)
    frame = pd.read_csv(folder / "sweep.csv", keep_default_na=False)
    hit = ((frame["target"] == "go/goroutines") & (frame["endpoint"] == "/sleep?ms=10")
           & (frame["repetition"] == 1))
    frame.loc[hit, "flags"] = "no-responses"
    frame.to_csv(folder / "sweep.csv", index=False)
    assert not any("no-responses" in f.text for f in flag_findings(load_run(SWEEP_RUN)))
    (finding,) = [f for f in flag_findings(load_run(folder)) if "no-responses" in f.text]
    assert finding.kind == "flag"
    assert finding.text.startswith("sweep: 1 measurement(s) flagged no-responses "
                                   "(go/goroutines): the load generator got no response")


def test_a_mixed_run_says_so(tmp_path) -> None:
    folder = copy_run(SWEEP_RUN, tmp_path, mixed=[{
        "at": "2026-01-01T00:00:00+00:00", "differences": ["spec of sweep: duration_s changed"]}])
    texts = [f.text for f in gap_findings(load_run(folder))]
    assert any(t.startswith("This run is mixed") and "duration_s changed" in t for t in texts)
