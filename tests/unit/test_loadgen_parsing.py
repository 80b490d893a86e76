"""Parsing what wrk and the pacer print, on outputs recorded from real runs (loadgen/testdata),
and the closed-loop result both fill."""

from __future__ import annotations

import math

import pytest

from lab import LOADGEN_DIR
from lab.errors import LabError
from lab.loadgen import (
    PacerRecord,
    Stream,
    from_pacer,
    from_wrk,
    latency_percentiles,
    percentile,
)
from lab.pacer import parse_pacer_records, parse_pacer_summary
from lab.wrk import SocketSample, WrkResult, parse_samples, parse_wrk

TESTDATA = LOADGEN_DIR / "testdata"


def read(name: str) -> str:
    return (TESTDATA / name).read_text()


def test_wrk_report_line_is_parsed_and_text_is_ignored() -> None:
    result = parse_wrk(read("wrk_ping.stdout.txt"), read("wrk_ping.stderr.txt"))
    assert result.requests == 98023
    assert result.duration_s == pytest.approx(3.082235)
    assert result.requests_per_s == pytest.approx(31802.57, rel=1e-4)
    assert result.bytes == 11762760 and result.errors_total == 0
    assert set(result.rate_samples) == {"min", "mean", "stdev", "max", "p50", "p90", "p99"}
    assert result.rate_samples["mean"] == pytest.approx(32179.7)
    assert "latency" not in (TESTDATA / "wrk_ping.stdout.txt").read_text().split("LABJSON")[1]
    assert len(result.samples) >= 10 and result.samples[0] == SocketSample(0.001191095, 0, 0, 0)


def test_wrk_status_errors_are_non_2xx() -> None:
    result = parse_wrk(read("wrk_status_errors.stdout.txt"))
    assert result.non_2xx == result.requests > 0
    assert result.socket_errors == {"connect": 0, "read": 0, "write": 0, "timeout": 0}


def test_wrk_output_without_the_report_line_is_an_error() -> None:
    with pytest.raises(LabError, match="LABJSON"):
        parse_wrk("Running 1s test @ http://127.0.0.1:1/\n  1 requests in 1.00s\n")


def test_wrk_closed_loop_facts_from_socket_samples() -> None:
    result = parse_wrk(read("wrk_ping.stdout.txt"), read("wrk_ping.stderr.txt"))
    closed = from_wrk(result, 32, "raw")
    assert closed.tool == "wrk" and closed.never_served == 0 and closed.ok == 98023
    # Every connection had bytes at the second sample (the first is before wrk connected).
    assert closed.setup_s == result.samples[1].t_s == closed.steady_start_s
    assert closed.goodput_per_s == pytest.approx(31802.57, rel=1e-4)
    # Steady rate from the bytes received after set-up, at wrk's mean response size:
    # within the noise of the whole-window rate, which it excludes the set-up from.
    assert closed.steady_goodput_per_s == pytest.approx(closed.goodput_per_s, rel=0.3)
    assert 0.1 <= closed.resolution_s < 1


def test_wrk_connections_never_served_and_allowance() -> None:
    samples = tuple(SocketSample(t / 10, 8, min(3, t), 120 * t * 3) for t in range(21))
    result = WrkResult(requests=180, duration_s=2.0, bytes=180 * 120,
                       errors={"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
                       rate_samples={}, samples=samples)
    closed = from_wrk(result, 8, "")
    assert closed.never_served == 5 and closed.setup_s is None
    assert closed.steady_start_s == 0.5  # a quarter of the window, at a sample
    assert closed.steady_goodput_per_s == pytest.approx(30.0)  # 3 responses per 0.1 s
    silent = from_wrk(parse_wrk(read("wrk_no_responses.stdout.txt")), 2, "")
    assert silent.never_served == 2 and silent.steady_goodput_per_s is None


def test_wrk_closing_its_sockets_is_not_read_as_never_served() -> None:
    """Recorded from rust/tokio (/sleep?ms=10, 1,024 connections): the last sample within
    wrk's duration saw 541 sockets, wrk closing the others; all had been served."""
    text = read("wrk_closing_tail.txt")
    result = parse_wrk(text, text)
    assert [s.sockets for s in result.samples][-2:] == [1024, 541]
    closed = from_wrk(result, 1024, "")
    assert closed.never_served == 0
    # 4,732,336 bytes from 0.240 s to 0.891 s at 116 bytes a response, all of them 2xx
    assert closed.steady_goodput_per_s == pytest.approx(62_700, rel=0.01)


def test_socket_samples_are_read_from_stderr_among_other_lines() -> None:
    assert parse_samples("unable to connect\nLABSS 100000000 4 3 360\n") == (
        SocketSample(0.1, 4, 3, 360),)


def test_socket_samples_carry_the_accept_queue_where_the_listener_is_in_sight() -> None:
    samples = parse_samples("LABSS 100000000 8 3 360 5\nLABSS 200000000 8 5 720 -1\n"
                            "LABSS 300000000 8 5 900 3\n")
    assert [s.accept_queue for s in samples] == [5, None, 3]
    result = WrkResult(requests=15, duration_s=0.3, bytes=900,
                       errors={"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
                       rate_samples={}, samples=samples)
    assert from_wrk(result, 8, "").accept_queue == 3  # at the end, like never_served
    older = parse_wrk(read("wrk_ping.stdout.txt"), read("wrk_ping.stderr.txt"))
    assert from_wrk(older, 32, "").accept_queue is None  # recorded before it was sampled


def test_pacer_records_and_summary() -> None:
    records = parse_pacer_records(read("pacer_records.csv"))
    summary = parse_pacer_summary(read("pacer_summary.json"))
    assert records and {r.stream for r in records} == {s["name"] for s in summary["streams"]}
    assert all(r.intended_ns <= r.ready_ns <= r.sent_ns <= r.done_ns for r in records)
    ping = [r for r in records if r.stream == "ping"]
    assert {r.connection for r in ping} == {0, 1, 2, 3}
    assert {r.connection for r in records if r.stream == "missing"} == {4}
    assert ping[0].latency_ms == (ping[0].done_ns - ping[0].intended_ns) / 1e6
    missing = next(r for r in records if r.stream == "missing")
    assert missing.status == 404 and missing.latency_ms == math.inf
    for stream in summary["streams"]:
        assert stream["scheduled"] == sum(1 for r in records if r.stream == stream["name"])


def test_pacer_failed_requests_have_status_0_and_an_error() -> None:
    refused = parse_pacer_records(read("pacer_connect_refused.csv"))
    assert refused and all(r.status == 0 and r.error_kind == "connect" for r in refused)
    assert all(r.sent_ns is None and r.ready_ns is None for r in refused)
    timeouts = parse_pacer_records(read("pacer_timeouts.csv"))
    assert timeouts and all(r.error_kind == "timeout" and r.sent_ns for r in timeouts)


def test_pacer_output_with_other_columns_is_an_error() -> None:
    with pytest.raises(LabError, match="columns"):
        parse_pacer_records("a,b\n1,2\n")


def test_pacer_closed_loop_summary() -> None:
    closed = from_pacer(parse_pacer_summary(read("pacer_closed.json")), "raw")
    assert closed.tool == "pacer" and closed.connections == 8 and closed.never_served == 0
    assert closed.ok == closed.requests > 0 and closed.goodput_per_s == closed.ok / 1.0
    assert closed.setup_s == closed.steady_start_s and closed.setup_s < 0.1
    silent = from_pacer(parse_pacer_summary(read("pacer_closed_no_responses.json")), "")
    assert silent.never_served == 2 and silent.setup_s is None and silent.ok == 0
    assert silent.steady_start_s == 0.125  # the default allowance, a quarter of 0.5 s


def test_stream_flag_carries_rate_phase_and_connections() -> None:
    assert Stream("cpu", "/cpu?ms=100", 2, 250, 2).flag() == "cpu=/cpu?ms=100@2+250ms:2"
    assert Stream("ping", "/ping", 200).flag() == "ping=/ping@200"


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99
    assert percentile(values, 100) == 100 and percentile([7.0], 99.9) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 0)


def record(latency_ms: float, status: int = 200) -> PacerRecord:
    done = int(latency_ms * 1e6)
    error = "" if status else "timeout: no complete response within the timeout"
    return PacerRecord("ping", 0, 0, 0, 0, done, status, error)


def test_a_failed_request_counts_as_infinitely_slow() -> None:
    fast = [record(1.0)] * 98 + [record(5.0)] * 2
    assert latency_percentiles(fast, (50, 99)) == {50: 1.0, 99: 5.0}
    # One timeout among 100: p99 is now the slowest success; two: p99 is infinite.
    one = [record(1.0)] * 98 + [record(5.0), record(0.0, status=0)]
    assert latency_percentiles(one, (50, 99)) == {50: 1.0, 99: 5.0}
    two = [record(1.0)] * 98 + [record(0.0, status=0), record(0.0, status=503)]
    assert latency_percentiles(two, (50, 99)) == {50: 1.0, 99: math.inf}
    # Excluding failures, as the old analysis did, would have reported p99 = 1 ms.
    assert percentile([r.latency_ms for r in two if r.ok], 99) == 1.0
